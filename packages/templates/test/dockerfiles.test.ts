import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildImage, render, type TemplateLanguage } from '@iii/templates';
import { requireTools } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envPairs, type Instruction, parseDockerfile } from './dockerfile.js';

const run = promisify(execFile);

let root: string;
beforeAll(async () => {
  // Lower case on purpose: buildah names an image pulled from `oci:<dir>` after the directory.
  root = join(tmpdir(), `iii-dockerfiles-${randomUUID()}`);
  await mkdir(root);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function renderedDockerfile(lang: TemplateLanguage, name: string) {
  const project = await render({ lang, name, dir: join(root, `${lang}-${name}`) });
  const text = await readFile(join(project.dir, 'Dockerfile'), 'utf8');
  return { project, instructions: parseDockerfile(text) };
}

function only(instructions: Instruction[], keyword: string): Instruction[] {
  return instructions.filter((i) => i.keyword === keyword);
}

const PUBLIC_BASES: Record<TemplateLanguage, string> = {
  node: 'docker.io/library/node:20-slim',
  python: 'docker.io/library/python:3.12-slim',
  rust: 'docker.io/library/debian:bookworm-slim',
};

describe.each(['node', 'python', 'rust'] as const)('the %s Dockerfile', (lang) => {
  it('parses, takes its base image as an ARG with a public default, and starts the worker', async () => {
    const { project, instructions } = await renderedDockerfile(lang, `${lang}-worker`);
    const firstFrom = instructions.findIndex((i) => i.keyword === 'FROM');
    const args = instructions.slice(0, firstFrom).filter((i) => i.keyword === 'ARG');
    expect(args.map((i) => i.raw)).toContain(`BASE_IMAGE=${PUBLIC_BASES[lang]}`);
    expect(only(instructions, 'FROM').at(-1)?.raw).toBe(`\${BASE_IMAGE}`);

    const entrypoint = only(instructions, 'ENTRYPOINT');
    expect(entrypoint).toHaveLength(1);
    expect(entrypoint[0]?.json?.length).toBeGreaterThan(0);

    const env = Object.assign({}, ...only(instructions, 'ENV').map((i) => envPairs(i.raw)));
    // The engine address as the docs tell image authors to declare it.
    expect(env).toMatchObject({ GREETING: 'Hello', III_URL: 'ws://localhost:49134' });
    expect(only(instructions, 'COPY').map((i) => i.raw)).toContain('iii.worker.yaml /iii/worker.yaml');
    expect(only(instructions, 'USER').map((i) => i.raw)).toEqual(['1000:1000']);
    // OCI labels in the stage that becomes the image.
    const lastFrom = instructions.findLastIndex((i) => i.keyword === 'FROM');
    const labels = only(instructions.slice(lastFrom), 'LABEL')
      .map((i) => i.raw)
      .join(' ');
    expect(labels).toContain(`org.opencontainers.image.source="\${IMAGE_SOURCE}"`);
    expect(labels).toContain(`org.opencontainers.image.version="\${IMAGE_VERSION}"`);

    const manifest = await readFile(join(project.dir, 'iii.worker.yaml'), 'utf8');
    expect(manifest).toMatch(new RegExp(`^name: ${lang}-worker$`, 'm'));
    expect(manifest).toMatch(/^resources:\n {2}cpus: [0-9.]+\n {2}memory: [0-9]+Mi$/m);
    expect(await readFile(join(project.dir, '.dockerignore'), 'utf8')).not.toBe('');
  });
});

describe('the rust Dockerfile', () => {
  it('passes the engine address as --url in CMD, so iii can replace it', async () => {
    const { instructions } = await renderedDockerfile('rust', 'rs-cmd');
    expect(only(instructions, 'CMD').map((i) => i.json)).toEqual([['--url', 'ws://localhost:49134']]);
    expect(only(instructions, 'ENTRYPOINT')[0]?.json).toEqual(['/usr/local/bin/worker']);
  });

  it('builds the dependencies from the manifests before it copies src/', async () => {
    const { instructions } = await renderedDockerfile('rust', 'rs-deps');
    const steps = instructions.map((i) => `${i.keyword} ${i.raw}`);
    const manifests = steps.indexOf('COPY Cargo.toml Cargo.lock* ./');
    const sources = steps.indexOf('COPY src ./src');
    expect(manifests).toBeGreaterThan(0);
    expect(sources).toBeGreaterThan(manifests);
    const between = steps.slice(manifests + 1, sources).join('\n');
    expect(between).toMatch(/^RUN .*cargo build --release/m);
  });
});

// Building needs PyPI and crates.io, which tests must not reach: stand-in toolchain images (busybox
// with `pip`/`python`/`cargo` scripts) let buildah run every instruction of the real Dockerfiles.
describe('building the python and rust templates with buildah', () => {
  let storage: string;
  let images: string;
  let stubBase: string;

  beforeAll(async () => {
    requireTools(['buildah', 'skopeo', 'busybox']);
    storage = join(root, 'buildah');
    images = join(root, 'images');
    const context = join(root, 'stub-context');
    await mkdir(join(context, 'stubs'), { recursive: true });
    const busybox = (await run('sh', ['-c', 'command -v busybox'])).stdout.trim();
    await copyFile(busybox, join(context, 'busybox'));
    const stubs: Record<string, string> = {
      pip: 'echo "pip $*"',
      python: 'echo "python $*"',
      // Writes a "binary" that tells what this run and the runs before it saw.
      cargo: [
        'mkdir -p target/release && echo run >> /cargo-runs',
        '{ echo "#!/bin/sh"; echo "# runs: $(wc -l < /cargo-runs)"; echo "# lock: $(head -n 1 Cargo.lock 2>/dev/null)"; echo "# main: $(head -n 1 src/main.rs)"; echo "echo worker"; } > target/release/worker',
        'chmod 755 target/release/worker',
      ].join('\n'),
    };
    for (const [name, body] of Object.entries(stubs)) {
      await writeFile(join(context, 'stubs', name), `#!/bin/sh\n${body}\n`);
      await chmod(join(context, 'stubs', name), 0o755);
    }
    await writeFile(join(context, 'ca-certificates.crt'), '# stand-in certificate bundle\n');
    await writeFile(
      join(context, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        'COPY stubs/ /usr/local/bin/',
        // As in the official toolchain image, which has Debian's ca-certificates.
        'COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt',
        'ENV PATH=/usr/local/bin:/usr/bin:/bin',
        '',
      ].join('\n'),
    );
    const built = await buildImage({
      dir: context,
      tag: 'toolchain-stub:1',
      builder: 'buildah',
      imagesDir: images,
      buildahStorageDir: storage,
    });
    stubBase = `oci:${built.output.path}:${built.output.tag}`;
  });

  async function imageConfig(layout: string, tag: string) {
    const { stdout } = await run('skopeo', ['inspect', '--config', `oci:${layout}:${tag}`]);
    return JSON.parse(stdout) as {
      config: {
        Entrypoint?: string[];
        Cmd?: string[];
        Env?: string[];
        User?: string;
        Labels?: Record<string, string>;
      };
    };
  }

  async function imageFiles(layout: string, tag: string): Promise<string[]> {
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${layout}:${tag}`]);
    const manifest = JSON.parse(stdout) as { layers: { digest: string }[] };
    const files: string[] = [];
    for (const layer of manifest.layers) {
      const blob = join(layout, 'blobs', ...layer.digest.split(':'));
      files.push(...(await run('tar', ['-tzf', blob], { maxBuffer: 64 << 20 })).stdout.split('\n'));
    }
    return files;
  }

  async function imageFile(layout: string, tag: string, path: string): Promise<string> {
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${layout}:${tag}`]);
    const manifest = JSON.parse(stdout) as { layers: { digest: string }[] };
    for (const layer of [...manifest.layers].reverse()) {
      const blob = join(layout, 'blobs', ...layer.digest.split(':'));
      const listed = (await run('tar', ['-tzf', blob], { maxBuffer: 64 << 20 })).stdout.split('\n');
      if (listed.includes(path)) return (await run('tar', ['-xzOf', blob, path])).stdout;
    }
    throw new Error(`${path} is in no layer`);
  }

  it('builds the python worker image with its entrypoint, ENV defaults and worker manifest', async () => {
    const project = await render({ lang: 'python', name: 'py-built', dir: join(root, 'py-built') });
    const built = await buildImage({
      dir: project.dir,
      tag: 'py-built:0.1.0',
      buildArgs: { BASE_IMAGE: stubBase },
      builder: 'buildah',
      imagesDir: images,
      buildahStorageDir: storage,
    });
    expect(built.source).toBe(`oci-layout:${join(images, 'py-built')}:0.1.0`);
    const { config } = await imageConfig(built.output.path, '0.1.0');
    expect(config.Entrypoint).toEqual(['python', '/app/worker.py']);
    expect(config.Env).toEqual(
      expect.arrayContaining(['GREETING=Hello', 'III_URL=ws://localhost:49134', 'PYTHONUNBUFFERED=1']),
    );
    expect(config.User).toBe('1000:1000');
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.source': '',
      'org.opencontainers.image.version': '0.1.0',
    });
    const files = await imageFiles(built.output.path, '0.1.0');
    expect(files).toEqual(
      expect.arrayContaining(['iii/worker.yaml', 'app/worker.py', 'app/requirements.txt']),
    );
  });

  it('builds the rust worker image in two stages with --url in its CMD', async () => {
    const project = await render({ lang: 'rust', name: 'rs-built', dir: join(root, 'rs-built') });
    await writeFile(join(project.dir, 'Cargo.lock'), '# the project lock file\n');
    const built = await buildImage({
      dir: project.dir,
      tag: 'rs-built:0.1.0',
      buildArgs: {
        BASE_IMAGE: stubBase,
        RUST_IMAGE: stubBase,
        IMAGE_SOURCE: 'https://example.com/rs-built',
        IMAGE_VERSION: '0.2.0',
      },
      builder: 'buildah',
      imagesDir: images,
      buildahStorageDir: storage,
    });
    const { config } = await imageConfig(built.output.path, '0.1.0');
    expect(config.Entrypoint).toEqual(['/usr/local/bin/worker']);
    expect(config.Cmd).toEqual(['--url', 'ws://localhost:49134']);
    expect(config.Env).toEqual(expect.arrayContaining(['GREETING=Hello', 'III_URL=ws://localhost:49134']));
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.source': 'https://example.com/rs-built',
      'org.opencontainers.image.version': '0.2.0',
    });
    const files = await imageFiles(built.output.path, '0.1.0');
    expect(files).toEqual(
      expect.arrayContaining([
        'iii/worker.yaml',
        'usr/local/bin/worker',
        'etc/ssl/certs/ca-certificates.crt',
      ]),
    );
    // cargo ran twice: once for the dependencies (with Cargo.lock and a placeholder main), then for
    // the worker, whose own main.rs it saw.
    const worker = await imageFile(built.output.path, '0.1.0', 'usr/local/bin/worker');
    expect(worker).toContain('# runs: 2');
    expect(worker).toContain('# lock: # the project lock file');
    expect(worker).toMatch(/# main: (?!fn main\(\) \{\})\S/);
  });
});
