// biome-ignore-all lint/suspicious/noTemplateCurlyInString: image values with literal ${VAR} placeholders.
// The attacker's side of issue "the engine serves its owner only": images that ask for the host's
// environment or try to bloat config.yaml, files built to exhaust the parser, sockets that never
// finish a handshake, and a worker that writes terminal escape sequences. All through the built
// `iii`, real runc and a real registry with images built by buildah.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIG_WORKER_YAML_BYTES, HOSTILE_ENV, MANY_ENV_COUNT, pushFixture } from '@iii/tools/fixtures';
import { freePort, requireTools, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { until } from './until.ts';

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env, cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Sockets the process holds open, from its file descriptors. */
async function openSockets(pid: number): Promise<number> {
  let n = 0;
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target.startsWith('socket:')) n++;
  }
  return n;
}

/** Bytes of each file (or null when missing), to show that a refused command changed nothing. */
async function snapshot(files: string[]): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const f of files) {
    out[f] = await readFile(f)
      .then((b) => createHash('sha256').update(b).digest('hex'))
      .catch(() => null);
  }
  return out;
}

/** The shape of a refusal: one `Error: <what>` line, then at most one hint line and no stack; exit 1. */
function expectOneClearError(r: Result, what: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  const at = lines.findIndex((l) => l.startsWith('Error: '));
  expect(at, r.stderr).toBeGreaterThanOrEqual(0);
  expect(lines[at]).toMatch(what);
  expect(lines.length - at, r.stderr).toBeLessThanOrEqual(2);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('iii bounds what images, files and strangers can make it do (runc, real registry)', () => {
  let registry: TestRegistry;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  let hostileRef: string;
  let manyRef: string;
  let bigYamlRef: string;
  let addOutput: Result;
  let engine: ChildProcess;
  let engineOutput = '';
  let engineExit: Promise<number | null>;

  const iii = (args: string[], extra: NodeJS.ProcessEnv = {}, cwd = dir) =>
    run(process.execPath, [bin, ...args], { ...env, ...extra }, cwd);

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry']);
    registry = await startRegistry({ flavor: 'plain' });
    await pushFixture('hostile-env', registry, 'iii/hostile:1');
    await pushFixture('many-env', registry, 'iii/many:1');
    await pushFixture('big-worker-yaml', registry, 'iii/big-worker-yaml:1');
    hostileRef = `${registry.host}/iii/hostile:1`;
    manyRef = `${registry.host}/iii/many:1`;
    bigYamlRef = `${registry.host}/iii/big-worker-yaml:1`;
    dir = await mkdtemp(join(tmpdir(), 'iii-bounds-'));
    port = await freePort();
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('III_')));
    env = {
      ...base,
      III_FIXTURES_DIR: process.env.III_FIXTURES_DIR,
      III_HOME: join(dir, 'home'),
      CI: 'true',
      SECRET: 'k',
    };
    addOutput = await iii(['worker', 'add', hostileRef, '--name', 'hostile']);
    expect(addOutput.code, addOutput.stderr).toBe(0);

    engine = spawn(process.execPath, [bin, 'start', '--port', String(port)], {
      env,
      cwd: dir,
      stdio: 'pipe',
    });
    engine.stdout?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    engine.stderr?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    engineExit = new Promise((resolve) => engine.once('exit', (code) => resolve(code)));
    await until('the hostile worker running', async () => {
      const r = await iii(['worker', 'list', '--json']);
      const rows = (JSON.parse(r.stdout) as { workers: { name: string; status: string }[] }).workers;
      return rows.find((w) => w.name === 'hostile')?.status === 'running';
    });
  }, 900_000);

  afterAll(async () => {
    if (engine && engine.exitCode === null) {
      engine.kill('SIGINT');
      await engineExit;
    }
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('writes image ENV into config.yaml escaped, and the worker receives it exactly as the image wrote it', async () => {
    const doc = parseDocument(await readFile(join(dir, 'config.yaml'), 'utf8'));
    expect(doc.getIn(['workers', 0, 'config', 'DOLLAR'])).toBe('$${HOME}x$${SECRET}');
    expect(doc.getIn(['workers', 0, 'config', 'PRICE'])).toBe('5$$');
    const r = await iii(
      ['worker', 'exec', 'hostile', '--', 'sh', '-c', 'echo "$DOLLAR|$PRICE|$DOUBLE|$ESCAPED"'],
      { SECRET: 'k' },
    );
    expect(r.code, r.stderr).toBe(0);
    const { DOLLAR, PRICE, DOUBLE, ESCAPED } = HOSTILE_ENV;
    expect(r.stdout).toBe(`${DOLLAR}|${PRICE}|${DOUBLE}|${ESCAPED}\n`);
    expect(r.stdout.trim().split('|')[0]).toBe('${HOME}x${SECRET}');
  });

  it('keeps the escaped values when the worker is updated to the same image', async () => {
    const before = await readFile(join(dir, 'config.yaml'), 'utf8');
    const r = await iii(['worker', 'update', 'hostile']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(dir, 'config.yaml'), 'utf8')).toBe(before);
  });

  it('warns that a symlinked /iii/worker.yaml was skipped, and takes no resources from it', async () => {
    expect(addOutput.stderr).toContain(
      `Warning: /iii/worker.yaml of ${hostileRef} is a symlink; it was skipped (no resources taken from the image)`,
    );
    const doc = parseDocument(await readFile(join(dir, 'config.yaml'), 'utf8'));
    expect(doc.getIn(['workers', 0, 'resources'])).toBeUndefined();
  });

  it('closes 300 half-open WebSocket handshakes within 15 s, and says so in its log once', async () => {
    const pid = engine.pid!;
    const baseline = await openSockets(pid);
    const sockets: Socket[] = [];
    let closed = 0;
    try {
      await Promise.all(
        Array.from(
          { length: 300 },
          () =>
            new Promise<void>((resolve, reject) => {
              const s = connect(port, '127.0.0.1', () => {
                s.write('GET / HTTP/1.1\r\nHost: engine\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n');
                resolve();
              });
              s.once('error', reject);
              s.once('close', () => closed++);
              sockets.push(s);
            }),
        ),
      );
      await until(
        'the engine holding the 300 sockets',
        async () => (await openSockets(pid)) >= baseline + 300,
      );
      // 10 s handshake timeout; the bound is generous and fails only if the sockets are never closed.
      await until('the half-open sockets closed', async () => closed === 300, 15_000);
      await until(
        'the engine releasing their file descriptors',
        async () => (await openSockets(pid)) <= baseline,
        5_000,
      );
    } finally {
      for (const s of sockets) s.destroy();
    }
    const said = engineOutput.split('\n').filter((l) => l.includes('did not finish its WebSocket handshake'));
    expect(said).toEqual([
      'engine: closed a connection from 127.0.0.1 that did not finish its WebSocket handshake within 10 s; not logged again for it',
    ]);
    // The engine still serves its owner.
    const list = await iii(['worker', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
  }, 120_000);

  it('escapes control characters of worker logs on a terminal; --raw and pipes get them as written', async () => {
    const piped = await until('the escape sequences in the logs', async () => {
      const r = await iii(['worker', 'logs', 'hostile', '-n', '1000']);
      return r.stdout.includes('cleared') ? r : undefined;
    });
    expect(piped.stdout).toContain('\x1b]0;pwned\x07retitled\n');
    expect(piped.stdout).toContain('\x1b[2Jcleared\n');

    // `script` gives the command a pseudo-terminal as stdout and stderr.
    const onTerminal = (args: string) =>
      run(
        'script',
        ['-qec', `${process.execPath} ${bin} worker logs hostile -n 1000 ${args}`, '/dev/null'],
        env,
        dir,
      );
    const escaped = await onTerminal('');
    expect(escaped.code, escaped.stderr).toBe(0);
    expect(escaped.stdout).toContain('\\x1b]0;pwned\\x07retitled');
    expect(escaped.stdout).toContain('\\x1b[2Jcleared');
    expect(escaped.stdout).not.toContain('\x1b]0;pwned');
    expect(escaped.stdout).not.toContain('\x1b[2J');
    const raw = await onTerminal('--raw');
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stdout).toContain('\x1b]0;pwned\x07retitled');
    expect(raw.stdout).toContain('\x1b[2Jcleared');
  }, 120_000);

  describe('caps: one clear line, exit 1, nothing changed on disk', () => {
    let project: string;
    let files: string[];
    const config = () => join(project, 'config.yaml');

    beforeAll(async () => {
      project = join(dir, 'caps');
      await mkdir(project);
      files = [join(project, 'config.yaml'), join(project, 'iii.lock')];
    });

    const refused = async (args: string[], what: RegExp) => {
      const before = await snapshot(files);
      // Its own $III_HOME: no running engine of another project answers for this one.
      const r = await iii([...args, '--config', config()], { III_HOME: join(dir, 'caps-home') }, project);
      expectOneClearError(r, what);
      expect(await snapshot(files)).toEqual(before);
      expect((await readdir(project)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    };

    it('refuses a 50 MB config.yaml with its size and the limit', async () => {
      const text = `workers: []\n# ${'x'.repeat(50 * 1024 * 1024)}\n`;
      await writeFile(config(), text);
      const what = new RegExp(
        `^Error: ${escapeRe(config())} is 50\\.0 MiB \\(${text.length} bytes\\), over the limit of 4 MiB \\(4194304 bytes\\)$`,
      );
      await refused(['worker', 'add', hostileRef, '--name', 'x'], what);
      await refused(['worker', 'list'], what);
    });

    it('refuses a YAML alias bomb with file, line and column', async () => {
      const lol = [
        'x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]',
        'x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
        'x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
        'x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
        'x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
        'workers: []',
      ];
      await writeFile(config(), `${lol.join('\n')}\n`);
      const what = new RegExp(`^Error: ${escapeRe(config())}:3:10: .*alias bomb`);
      await refused(['worker', 'add', hostileRef, '--name', 'x'], what);
      await refused(['worker', 'list'], what);
    });

    it('refuses an iii.lock over the limit', async () => {
      await writeFile(config(), 'workers: []\n');
      const text = `version: 1\n# ${'x'.repeat(5 * 1024 * 1024)}\n`;
      await writeFile(files[1]!, text);
      await refused(
        ['worker', 'add', hostileRef, '--name', 'x'],
        new RegExp(
          `^Error: ${escapeRe(files[1]!)} is 5\\.0 MiB \\(${text.length} bytes\\), over the limit of 4 MiB \\(4194304 bytes\\)$`,
        ),
      );
      await rm(files[1]!);
    });

    it(`refuses an image with ${MANY_ENV_COUNT} ENV entries`, async () => {
      await writeFile(config(), 'workers: []\n');
      await refused(
        ['worker', 'add', manyRef],
        new RegExp(
          `^Error: ${escapeRe(manyRef)} declares ${MANY_ENV_COUNT} environment variables, over the limit of 1000$`,
        ),
      );
    });

    it('refuses an image whose /iii/worker.yaml is over the limit', async () => {
      await writeFile(config(), 'workers: []\n');
      await refused(
        ['worker', 'add', bigYamlRef],
        new RegExp(
          `^Error: /iii/worker\\.yaml of ${escapeRe(bigYamlRef)} is 100 KiB \\(${BIG_WORKER_YAML_BYTES} bytes\\), over the limit of 64 KiB \\(65536 bytes\\)$`,
        ),
      );
    });
  });
});
