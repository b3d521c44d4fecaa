// The engine address a worker gets, through the built `iii`, runc and a real registry, with an image
// that declares the address the way the docs tell image authors to (ENV III_URL and CMD --url).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGE_ENGINE_URL, pushFixture } from '@iii/tools/fixtures';
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

interface Where {
  dialled: string | null;
  argv: string[];
  III_URL: string | null;
  III_ENGINE_URL: string | null;
}

interface Inspected {
  argv: string[];
  env: Record<string, string>;
  engineAddress: { url: string; rule: string; key?: string; reason: string };
}

function envLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

describe('the engine address a worker gets (engine on a random port, runc, real registry)', () => {
  let registry: TestRegistry;
  let dir: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let engine: ChildProcess | undefined;
  let engineOutput = '';
  let engineExit: Promise<number | null>;
  /** `inspect` of each worker before `iii` started. */
  const before: Record<string, Inspected> = {};
  /** Text `inspect` of envurl before `iii` started. */
  let beforeText = '';
  let engineUrl: string;
  let userUrl: string;

  const iii = (...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      const child = execFile(process.execPath, [bin, ...args], { env, cwd: dir }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });
  const inspect = async (name: string): Promise<Inspected> => {
    const r = await iii('worker', 'inspect', name, '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Inspected;
  };
  const where = async (name: string): Promise<Where | undefined> => {
    const r = await iii('trigger', `${name}::where`, '--timeout', '5s');
    return r.code === 0 ? (JSON.parse(r.stdout) as Where) : undefined;
  };

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'buildah', 'docker-registry']);
    registry = await startRegistry({ flavor: 'plain' });
    await pushFixture('node-url-worker', registry, 'iii/url-worker:1');
    dir = await mkdtemp(join(tmpdir(), 'iii-address-'));
    port = await freePort();
    engineUrl = `ws://127.0.0.1:${port}`;
    // Differs from the image's default, and still reaches the engine (localhost is in /etc/hosts).
    userUrl = `ws://localhost:${port}`;
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('III_')));
    env = { ...base, III_HOME: join(dir, 'home'), III_CONFIG_PATH: join(dir, 'config.yaml'), CI: 'true' };
    // The engine listens on config.yaml's port, not on the default the image was built with.
    await writeFile(join(dir, 'config.yaml'), `engine:\n  port: ${port}\n`);
    for (const name of ['envurl', 'argvurl', 'mine']) {
      const r = await iii('worker', 'add', `${registry.host}/iii/url-worker:1`, '--name', name);
      expect(r.code, r.stderr).toBe(0);
    }
    const configPath = join(dir, 'config.yaml');
    const doc = parseDocument(await readFile(configPath, 'utf8'));
    // `add` copied the image's default into config: of every entry.
    for (const i of [0, 1, 2]) expect(doc.getIn(['workers', i, 'config', 'III_URL'])).toBe(IMAGE_ENGINE_URL);
    doc.setIn(['workers', 1, 'config', 'URL_FROM'], 'argv');
    doc.setIn(['workers', 2, 'config', 'URL_FROM'], 'argv');
    doc.setIn(['workers', 2, 'config', 'III_URL'], userUrl);
    await writeFile(configPath, doc.toString());
    for (const name of ['envurl', 'argvurl', 'mine']) before[name] = await inspect(name);
    const text = await iii('worker', 'inspect', 'envurl');
    expect(text.code, text.stderr).toBe(0);
    beforeText = text.stdout;

    engine = spawn(process.execPath, [bin], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    engine.stdout?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    engine.stderr?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    engineExit = new Promise((resolve) => engine?.once('exit', (code) => resolve(code)));
    for (const name of ['envurl', 'argvurl', 'mine']) {
      await until(`${name}::where (iii output: ${engineOutput})`, () => where(name));
    }
  });

  afterAll(async () => {
    if (engine && engine.exitCode === null) {
      engine.kill('SIGTERM');
      await engineExit;
    }
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("connects a worker whose config.yaml keeps the image's III_URL to the engine's real port", async () => {
    expect(engineOutput).toContain(`listening on ${engineUrl}`);
    expect(await where('envurl')).toMatchObject({
      dialled: engineUrl,
      III_URL: engineUrl,
      III_ENGINE_URL: engineUrl,
    });
  });

  it("patches a binary worker's argv --url to the engine's real address", async () => {
    const w = await where('argvurl');
    expect(w?.argv).toEqual(['--url', engineUrl]);
    expect(w?.dialled).toBe(engineUrl);
  });

  it('lets a III_URL the user edited in config.yaml win, for both variables and argv --url', async () => {
    expect(await where('mine')).toEqual({
      dialled: userUrl,
      argv: ['--url', userUrl],
      III_URL: userUrl,
      III_ENGINE_URL: userUrl,
    });
  });

  it('inspect shows the address each worker gets and which rule chose it, with iii running or not', async () => {
    for (const r of [before.envurl, await inspect('envurl')]) {
      expect(r?.engineAddress).toEqual({
        url: engineUrl,
        rule: 'engine',
        key: 'III_URL',
        reason: "the engine's address (III_URL in config.yaml is the image's default)",
      });
    }
    for (const r of [before.mine, await inspect('mine')]) {
      expect(r?.engineAddress).toMatchObject({ url: userUrl, rule: 'config', key: 'III_URL' });
      expect(r?.engineAddress.reason).toBe(
        "the user's value of III_URL in config.yaml (differs from the image's default)",
      );
    }
    // Before iii started, the address came from config.yaml's engine.port, and inspect said so.
    expect(beforeText).toMatch(
      new RegExp(
        `^Engine: +${engineUrl}, the engine's address \\(III_URL in config.yaml is the image's default\\) \\(iii is not running: engine.host/port of config.yaml\\)$`,
        'm',
      ),
    );
    const text = await iii('worker', 'inspect', 'mine');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`^Engine: +${userUrl}, the user's value of III_URL in config.yaml`, 'm'),
    );
  });

  it('inspect shows the environment and argv the worker runs with (compared with exec -- env)', async () => {
    for (const name of ['envurl', 'argvurl', 'mine']) {
      const exec = await iii('worker', 'exec', name, '--', 'env');
      expect(exec.code, exec.stderr).toBe(0);
      const running = envLines(exec.stdout);
      expect(running.III_WORKER_NAME).toBe(name);
      expect(before[name]?.env, `${name} before iii started`).toEqual(running);
      expect((await inspect(name)).env, `${name} while iii runs`).toEqual(running);

      const cmdline = await iii('worker', 'exec', name, '--', 'cat', '/proc/1/cmdline');
      expect(cmdline.code, cmdline.stderr).toBe(0);
      // PID 1 is the init, which runs the worker's argv after `--`.
      const [init, dashes, ...argv] = cmdline.stdout.split('\0').filter(Boolean);
      expect([init, dashes]).toEqual(['/dev/init', '--']);
      expect(before[name]?.argv).toEqual(argv);
      expect((await inspect(name)).argv).toEqual(argv);
    }
  });
});
