import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pushFixture } from '@iii/tools/fixtures';
import { freePort, requireTools, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// The built `iii` binary, as users run it.
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));
const sdkVersion = JSON.parse(
  await readFile(fileURLToPath(new URL('../../../packages/sdk/package.json', import.meta.url)), 'utf8'),
).version as string;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'iii-init-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function iii(args: string[]) {
  // --no-pin unless a test is about pinning: the public registries are not part of these tests.
  if (args[0] === 'init' && !args.some((a) => a === '--pin' || a === '--no-pin' || a === '--base-image')) {
    args = [...args, '--no-pin'];
  }
  return execa(process.execPath, [bin, ...args], {
    cwd: root,
    reject: false,
    env: { III_HOME: join(root, '.iii-home'), NODE_NO_WARNINGS: '1' },
  });
}

describe('iii init', () => {
  it('scaffolds a worker named after its directory and prints the next steps', async () => {
    const result = await iii(['init', 'greeter', '--lang', 'python']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Created the python worker greeter in greeter (function greeter::hello)');
    expect(result.stderr).toContain('iii worker build -t greeter:0.1.0');
    expect(result.stderr).toContain('iii trigger greeter::hello');
    expect((await readdir(join(root, 'greeter'))).sort()).toEqual([
      '.dockerignore',
      '.gitignore',
      'Dockerfile',
      'README.md',
      'iii.worker.yaml',
      'requirements.txt',
      'worker.py',
    ]);
    expect(await readFile(join(root, 'greeter', 'worker.py'), 'utf8')).toContain('"greeter::hello"');
  });

  it('uses --name and prints only JSON on stdout with --json', async () => {
    const result = await iii(['init', 'w', '--lang', 'rust', '--name', 'fast-one', '--json']);
    expect(result.exitCode).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({ lang: 'rust', name: 'fast-one', functionId: 'fast-one::hello' });
    expect(json.files).toContain('Cargo.toml');
    expect(json.nextSteps).toContain('iii worker build -t fast-one:0.1.0');
  });

  it('makes a node project depend on the matching @iii/sdk release, or the spec given', async () => {
    expect((await iii(['init', 'a', '--lang', 'node'])).exitCode).toBe(0);
    const a = JSON.parse(await readFile(join(root, 'a', 'package.json'), 'utf8'));
    expect(a.dependencies['@iii/sdk']).toBe(`^${sdkVersion}`);

    expect((await iii(['init', 'b', '--lang', 'node', '--sdk-version', 'file:./sdk.tgz'])).exitCode).toBe(0);
    const b = JSON.parse(await readFile(join(root, 'b', 'package.json'), 'utf8'));
    expect(b.dependencies['@iii/sdk']).toBe('file:./sdk.tgz');
  });

  it('refuses a directory that is not empty and changes nothing in it', async () => {
    await writeFile(join(root, 'keep.txt'), 'mine');
    const result = await iii(['init', '.', '--lang', 'node', '--name', 'w']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^Error: directory .* is not empty\nPick a new or empty directory/m);
    expect((await readdir(root)).sort()).toEqual(['keep.txt']);
  });

  it('rejects an invalid worker name with what to do about it', async () => {
    const result = await iii(['init', 'bad name', '--lang', 'node']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Error: invalid worker name "bad name"');
    expect(result.stderr).toContain('--name');
  });

  it('treats a missing or unknown --lang as a usage error', async () => {
    expect((await iii(['init', 'x'])).exitCode).toBe(2);
    const result = await iii(['init', 'x', '--lang', 'cobol']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('node, python, rust');
  });
});

describe('iii init pins the base image to its digest', () => {
  let registry: TestRegistry;
  let digest: string;
  // A registry that accepts connections and never answers, counting them.
  let silent: Server;
  let silentHost: string;
  let connections = 0;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    requireTools(['docker-registry', 'skopeo']);
    registry = await startRegistry({ flavor: 'plain' });
    digest = await pushFixture('multiarch', registry, 'library/python:3.12-slim');
    silent = createServer((socket) => {
      connections++;
      sockets.push(socket);
    });
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const address = silent.address();
    silentHost = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }, 300_000);
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    silent?.close();
    await registry?.stop();
  });

  it('writes the digest the registry serves for the tag, with the tag in a comment above', async () => {
    const image = `${registry.host}/library/python:3.12-slim`;
    const result = await iii(['init', 'p', '--lang', 'python', '--base-image', image, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const json = JSON.parse(result.stdout);
    expect(json.pinned).toEqual([{ image, pinned: `${registry.host}/library/python@${digest}`, digest }]);
    expect(json.unpinned).toEqual([]);
    const dockerfile = await readFile(join(root, 'p', 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(
      `# ${image}, pinned to its digest by iii init\nARG BASE_IMAGE=${registry.host}/library/python@${digest}\nFROM \${BASE_IMAGE}\n`,
    );
    // The same without --json: one line says what was pinned.
    const text = await iii(['init', 'q', '--lang', 'python', '--base-image', image]);
    expect(text.stderr).toContain(`Pinned the base image ${image} to ${digest}.`);
  });

  it('keeps the tag and says so in one line when the registry is not there', async () => {
    const image = `127.0.0.1:${await freePort()}/library/node:20-slim`;
    const result = await iii(['init', 'n', '--lang', 'node', '--base-image', image]);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stderr.split('\n').filter((l) => l.includes('not pinned'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^Kept the tag of ${image.replace(/[.]/g, '\\.')}, not pinned to a digest: .+\\.$`),
    );
    expect(await readFile(join(root, 'n', 'Dockerfile'), 'utf8')).toMatch(
      new RegExp(`^ARG BASE_IMAGE=${image.replace(/[.]/g, '\\.')}$`, 'm'),
    );
  });

  it('gives up on a registry that does not answer after a few seconds', async () => {
    const image = `${silentHost}/library/node:20-slim`;
    const started = Date.now();
    const result = await iii(['init', 's', '--lang', 'node', '--base-image', image, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(JSON.parse(result.stdout).unpinned).toEqual([{ image, reason: 'no answer in time' }]);
    expect(await readFile(join(root, 's', 'Dockerfile'), 'utf8')).toContain(`ARG BASE_IMAGE=${image}\n`);
  }, 30_000);

  it('asks no registry with --no-pin', async () => {
    const before = connections;
    const image = `${silentHost}/library/python:3.12-slim`;
    const result = await iii(['init', 'x', '--lang', 'python', '--base-image', image, '--no-pin', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ pinned: [], unpinned: [] });
    expect(await readFile(join(root, 'x', 'Dockerfile'), 'utf8')).toContain(`ARG BASE_IMAGE=${image}\n`);
    expect(connections).toBe(before);
  });

  it('refuses a --base-image that is no image reference, writing nothing', async () => {
    const result = await iii(['init', 'bad', '--lang', 'python', '--base-image', 'Not An/Image']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^Error: invalid image reference "Not An\/Image"/m);
    expect(await readdir(root)).not.toContain('bad');
  });
});
