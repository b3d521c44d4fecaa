import { isAscii } from 'node:buffer';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

async function iii(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, CI: 'true' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the iii binary', () => {
  it('lists the worker topic in --help', async () => {
    const { code, stdout } = await iii('--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/TOPICS[\s\S]*worker/);
  });

  it('prints its version', async () => {
    const { code, stdout } = await iii('--version');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^@iii\/cli\/\d+\.\d+\.\d+/);
  });

  it('suggests `worker` for the typo `wroker`, exiting 2', async () => {
    const { code, stdout, stderr } = await iii('wroker');
    expect(code).toBe(2);
    expect(stdout + stderr).toMatch(/Did you mean: iii worker$/m);
  });

  it('ships a generated oclif manifest naming every command, so start-up does not scan commands', async () => {
    const manifest = JSON.parse(await readFile(new URL('../oclif.manifest.json', import.meta.url), 'utf8'));
    // Every command file has its entry in the executable's table and in the manifest: a command left
    // out of either is hidden from `iii`.
    const dir = fileURLToPath(new URL('../src/commands/', import.meta.url));
    const ids = (await readdir(dir, { recursive: true }))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => f.slice(0, -'.ts'.length).split(sep).join(':'))
      .sort();
    expect(ids).toContain('worker:list');
    const executable = createRequire(import.meta.url)('../dist/cli/iii.cjs') as { COMMANDS: object };
    expect(Object.keys(executable.COMMANDS).sort()).toEqual(ids);
    expect(Object.keys(manifest.commands)).toEqual(expect.arrayContaining(ids));
    // The packed package holds the manifest, the bundled executable and the loader bin/run.js uses.
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    const packed = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map(
      (f) => f.path,
    );
    expect(packed).toEqual(
      expect.arrayContaining([
        'oclif.manifest.json',
        'bin/run.js',
        // It makes bin/run.js CommonJS; without it, run.js is an ES module and fails to load.
        'bin/package.json',
        'dist/cli/iii.cjs',
        'dist/cli/code-cache.cjs',
        'dist/index.js',
      ]),
    );
  });

  it('leaves no computed import() in the executable, which fails in code taken from a code cache', async () => {
    const bundle = await readFile(new URL('../dist/cli/iii.cjs', import.meta.url), 'utf8');
    // `import(` with an argument that is not a literal path (esbuild bundles those).
    expect(bundle.match(/(?<![\w.$])import\(\s*(?![\s'"`)])/g) ?? []).toEqual([]);
    expect(bundle).toContain('__iiiImport(');
  });

  it('is ASCII, which the loader reads into a one-byte string', async () => {
    const bundle = await readFile(new URL('../dist/cli/iii.cjs', import.meta.url));
    expect(isAscii(bundle)).toBe(true);
  });

  it('keeps the code V8 compiled for each command in a private cache, written only after success', async () => {
    const home = await mkdtemp(join(tmpdir(), 'iii-home-'));
    try {
      const env = {
        ...process.env,
        CI: 'true',
        XDG_CACHE_HOME: join(home, 'cache'),
        III_HOME: join(home, 'iii'),
      };
      const cached = async (...args: string[]) => {
        await run(process.execPath, [bin, ...args], { env, cwd: home }).catch(() => {});
        return readdir(join(home, 'cache', 'iii', 'code-cache')).catch(() => [] as string[]);
      };
      expect(await cached('wroker')).toEqual([]);
      const [entry, ...others] = await cached('--version');
      expect(entry).toMatch(/^version\.v\d+\.\d+\.\d+-[a-z0-9]+\.[0-9a-z-]+\.v8$/);
      expect(others).toEqual([]);
      const first = await stat(join(home, 'cache', 'iii', 'code-cache', entry!));
      expect(first.mode & 0o777).toBe(0o600);
      expect((await stat(join(home, 'cache', 'iii', 'code-cache'))).mode & 0o777).toBe(0o700);
      // A run that found its code does not write it again.
      expect(await cached('--version')).toEqual([entry]);
      expect((await stat(join(home, 'cache', 'iii', 'code-cache', entry!))).mtimeMs).toBe(first.mtimeMs);
      await writeFile(join(home, 'config.yaml'), 'workers:\n  - name: w\n    image: registry.example/w:1\n');
      expect((await cached('worker', 'list', '--json')).sort()).toEqual([
        expect.stringMatching(/^version\./),
        expect.stringMatching(/^worker-list\./),
      ]);
      const { stdout } = await run(process.execPath, [bin, 'worker', 'list', '--json'], { env, cwd: home });
      expect(JSON.parse(stdout).workers).toEqual([expect.objectContaining({ name: 'w' })]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('exits 2 with one error line and a hint on an unknown flag', async () => {
    const { code, stderr } = await iii('worker', 'list', '--no-such-flag');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^Error: .*no-such-flag/m);
  });
});

describe('the repository', () => {
  it('runs exactly the README test command in CI', async () => {
    const readme = await readFile(`${repoRoot}README.md`, 'utf8');
    const ci = await readFile(`${repoRoot}.ci/run`, 'utf8');
    const command = readme.match(/<!-- test-command -->\s*```sh\n(.+)\n```/)?.[1];
    expect(command).toBeTruthy();
    expect(ci.split('\n')).toContain(command);
  });
});
