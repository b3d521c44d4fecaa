// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config.yaml text with literal ${VAR} placeholders.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, chown, copyFile, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageClosure, pushFixture, repoRoot } from '@iii/tools/fixtures';
import {
  createLocalUser,
  freePort,
  type LocalUser,
  requireTools,
  startRegistry,
  type TestRegistry,
} from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { recordOf } from './project-paths.ts';
import { until } from './until.ts';

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

/** What the official iii-sdk client of an attacker prints: the listing and each call's outcome. */
interface Attack {
  listed: string[];
  inspect: { ok?: unknown; code?: string; message?: string };
  inspectAgain: { ok?: unknown; code?: string; message?: string };
  stop: { ok?: unknown; code?: string; message?: string };
}

const MARKER = 'payload-marker-7f3a';

/**
 * A 20-line client written with the official iii-sdk, as an attacker would: connect, list the
 * functions with internal ones, then try to read a worker's environment and stop it.
 */
const ATTACK_SCRIPT = `
const { registerWorker } = require('iii-sdk');
const iii = registerWorker(process.env.ATTACK_URL || process.env.III_URL, { workerName: process.env.ATTACK_NAME });
const attempt = (id, payload) =>
  iii.trigger({ function_id: id, payload, timeoutMs: 15000 }).then(
    (ok) => ({ ok }),
    (e) => ({ code: e.code, message: e.message }),
  );
(async () => {
  const name = process.env.ATTACK_TARGET;
  const all = await iii.trigger({ function_id: 'engine::functions::list', payload: { include_internal: true } });
  const out = { listed: all.functions.map((f) => f.function_id) };
  out.inspect = await attempt('iii::workers::inspect', { name, reveal: true, marker: '${MARKER}' });
  out.inspectAgain = await attempt('iii::workers::inspect', { name, reveal: true, marker: '${MARKER}' });
  out.stop = await attempt('iii::workers::stop', { name, marker: '${MARKER}' });
  console.log(JSON.stringify(out));
  await iii.shutdown();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function lastJsonLine<T>(stdout: string): T {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON in ${JSON.stringify(stdout)}`);
  return JSON.parse(line) as T;
}

describe('the engine serves its owner only (built iii, runc, real registry, official iii-sdk)', () => {
  let registry: TestRegistry;
  let dir: string;
  let home: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let engine: ChildProcess;
  let engineExit: Promise<number | null>;
  let engineOutput = '';
  let stranger: LocalUser | undefined;
  let strangerDir: string | undefined;
  const SECRET = 'S3CR3T-e2e-8c41';

  const iii = (args: string[], extra: NodeJS.ProcessEnv = env): Promise<Result> =>
    new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [bin, ...args],
        { env: extra, cwd: dir, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });
  const nodeWorkerRow = async () => {
    const r = await iii(['worker', 'list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return (
      JSON.parse(r.stdout) as { workers: { name: string; status: string; pid?: number }[] }
    ).workers.find((w) => w.name === 'node-worker');
  };
  const token = async (): Promise<string> =>
    (JSON.parse(await readFile(recordOf(home, join(dir, 'config.yaml')), 'utf8')) as { token: string }).token;
  const refusals = (fn: string, who: string) =>
    engineOutput.split('\n').filter((l) => l.startsWith(`refused ${fn} to worker "${who}"`));

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry', 'useradd', 'su']);
    registry = await startRegistry({ flavor: 'plain' });
    await pushFixture('node-worker', registry, 'iii/node-worker:1');
    dir = await mkdtemp(join(tmpdir(), 'iii-sec-'));
    home = join(dir, 'home');
    port = await freePort();
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('III_')));
    env = { ...base, III_HOME: home, III_CONFIG_PATH: join(dir, 'config.yaml'), CI: 'true' };
    const added = await iii(['worker', 'add', `${registry.host}/iii/node-worker:1`, '--name', 'node-worker']);
    expect(added.code, added.stderr).toBe(0);
    const configPath = join(dir, 'config.yaml');
    const doc = parseDocument(await readFile(configPath, 'utf8'));
    doc.setIn(['workers', 0, 'config', 'DB_URL'], 'postgres://app:${III_E2E_S}@db/x');
    doc.setIn(['workers', 0, 'config', 'PLAIN'], '${III_E2E_S}');
    doc.setIn(['workers', 0, 'config', 'NEW_KEY'], 'an-ordinary-value');
    doc.setIn(['workers', 0, 'config', 'API_KEY'], 'a-literal-key');
    await writeFile(configPath, doc.toString());

    engine = spawn(process.execPath, [bin, 'start', '--port', String(port)], {
      env: { ...env, III_E2E_S: SECRET },
      cwd: dir,
      stdio: 'pipe',
    });
    engine.stdout?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    engine.stderr?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    engineExit = new Promise((resolve) => engine.once('exit', (code) => resolve(code)));
    await until('node-worker serving', async () => {
      const r = await iii(['trigger', 'node-worker::env', '--timeout', '5s']);
      return r.code === 0;
    });
  }, 600_000);

  afterAll(async () => {
    if (engine && engine.exitCode === null) {
      engine.kill('SIGINT');
      await engineExit;
    }
    await stranger?.remove();
    if (strangerDir) await rm(strangerDir, { recursive: true, force: true });
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("keeps the token in the project's engine.json, readable by the owner only", async () => {
    expect((await stat(dirname(recordOf(home, join(dir, 'config.yaml'))))).mode & 0o777).toBe(0o700);
    expect((await stat(recordOf(home, join(dir, 'config.yaml')))).mode & 0o777).toBe(0o600);
    expect(await token()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses another local user with the official iii-sdk: no secret, no stop, nothing listed, logged once', async () => {
    stranger = await createLocalUser();
    strangerDir = await mkdtemp(join(tmpdir(), 'iii-stranger-'));
    // The stranger's own copy of the official SDK and of node, as any user of the machine can have.
    for (const pkg of packageClosure(repoRoot(), 'iii-sdk')) {
      await cp(join(repoRoot(), pkg.path), join(strangerDir, pkg.path), { recursive: true });
    }
    await writeFile(join(strangerDir, 'attack.cjs'), ATTACK_SCRIPT);
    let node = process.execPath;
    const probe = await stranger.sh(`test -x '${node}'`);
    if (probe.code !== 0) {
      node = join(strangerDir, 'node');
      await copyFile(process.execPath, node);
      await chmod(node, 0o755);
    }
    await chmod(strangerDir, 0o755);
    await chown(strangerDir, stranger.uid, stranger.gid);
    const before = await nodeWorkerRow();
    expect(before?.status).toBe('running');

    // It cannot read the owner's token either.
    const peek = await stranger.sh(`cat '${recordOf(home, join(dir, 'config.yaml'))}'`);
    expect(peek.code).not.toBe(0);

    const r = await stranger.sh(`cd '${strangerDir}' && '${node}' attack.cjs`, {
      ATTACK_URL: `ws://127.0.0.1:${port}`,
      ATTACK_NAME: 'intruder',
      ATTACK_TARGET: 'node-worker',
    });
    expect(r.code, r.stderr).toBe(0);
    const attack = lastJsonLine<Attack>(r.stdout);
    expect(attack.listed).toContain('node-worker::env');
    expect(attack.listed.filter((id) => id.startsWith('iii::workers::'))).toEqual([]);
    for (const call of [attack.inspect, attack.inspectAgain, attack.stop]) {
      expect(call).toMatchObject({ code: 'forbidden' });
    }
    expect(r.stdout).not.toContain(SECRET);
    const after = await nodeWorkerRow();
    expect(after).toMatchObject({ status: 'running', pid: before?.pid });
    await until(
      'the refusals in the log',
      async () => refusals('iii::workers::stop', 'intruder').length === 1,
    );
    expect(refusals('iii::workers::inspect', 'intruder')).toHaveLength(1);
    expect(refusals('iii::workers::inspect', 'intruder')[0]).toMatch(
      /^refused iii::workers::inspect to worker "intruder" \([0-9a-f-]{36}\) from 127\.0\.0\.1:\d+: it presented no management token$/,
    );
    expect(engineOutput).not.toContain(MARKER);
  });

  it("refuses a worker's own process, from inside its sandbox, and never hands it the token", async () => {
    const before = await nodeWorkerRow();
    const r = await iii([
      'worker',
      'exec',
      'node-worker',
      '-w',
      '/app',
      '-e',
      'ATTACK_NAME=inside-job',
      '-e',
      'ATTACK_TARGET=node-worker',
      '--',
      'node',
      // `--eval`, not `-e`: exec's own `-e` is still parsed after `--` (a bug of its own).
      '--eval',
      ATTACK_SCRIPT,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const attack = lastJsonLine<Attack>(r.stdout);
    expect(attack.listed.filter((id) => id.startsWith('iii::workers::'))).toEqual([]);
    for (const call of [attack.inspect, attack.inspectAgain, attack.stop]) {
      expect(call).toMatchObject({ code: 'forbidden' });
    }
    expect(r.stdout).not.toContain(SECRET);
    expect((await nodeWorkerRow())?.pid).toBe(before?.pid);
    await until(
      'the refusal in the log',
      async () => refusals('iii::workers::inspect', 'inside-job').length === 1,
    );

    const secret = await token();
    const look = await iii([
      'worker',
      'exec',
      'node-worker',
      '--',
      'sh',
      '-c',
      'env; cat /proc/1/environ; find / -xdev -name engine.json 2>/dev/null; echo done',
    ]);
    expect(look.code, look.stderr).toBe(0);
    expect(look.stdout).toContain('done');
    expect(look.stdout).not.toContain(secret);
    expect(look.stdout).not.toContain('engine.json');
  });

  it('shows interpolated values as written in inspect, inspect --json and list, unless --reveal', async () => {
    const json = await iii(['worker', 'inspect', 'node-worker', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const info = JSON.parse(json.stdout) as {
      env: Record<string, string>;
      run: { env: Record<string, string> };
    };
    for (const env of [info.env, info.run.env]) {
      expect(env.DB_URL).toBe('postgres://app:${III_E2E_S}@db/x');
      expect(env.PLAIN).toBe('${III_E2E_S}');
      expect(env.NEW_KEY).toBe('an-ordinary-value');
      expect(env.API_KEY).toBe('****');
    }
    expect(json.stdout).not.toContain(SECRET);
    const text = await iii(['worker', 'inspect', 'node-worker']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('DB_URL=postgres://app:${III_E2E_S}@db/x');
    expect(text.stdout).not.toContain(SECRET);
    const list = await iii(['worker', 'list', '--json']);
    expect(list.stdout).not.toContain(SECRET);

    const revealed = await iii(['worker', 'inspect', 'node-worker', '--json', '--reveal']);
    expect(revealed.code, revealed.stderr).toBe(0);
    const shown = JSON.parse(revealed.stdout) as { env: Record<string, string> };
    expect(shown.env.DB_URL).toBe(`postgres://app:${SECRET}@db/x`);
    expect(shown.env.API_KEY).toBe('a-literal-key');
    expect(engineOutput).not.toContain(SECRET);
  });

  it('lets the owner manage from elsewhere with --engine-url and III_TOKEN, and refuses a wrong or missing token', async () => {
    // Another $III_HOME with no record: only the URL and the token say which engine and who.
    const away = join(dir, 'elsewhere');
    await mkdir(away, { mode: 0o700 });
    const remote = { ...env, III_HOME: away, III_TOKEN: await token() };
    const url = `ws://127.0.0.1:${port}`;
    const listed = await iii(['worker', 'list', '--json', '--engine-url', url], remote);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).workers.map((w: { name: string }) => w.name)).toEqual(['node-worker']);
    const stopped = await iii(['worker', 'stop', 'node-worker', '--timeout', '5s'], {
      ...remote,
      III_CLI_ENGINE_URL: url,
    });
    expect(stopped.code, stopped.stderr).toBe(0);
    expect((await nodeWorkerRow())?.status).toBe('stopped');
    const started = await iii(['worker', 'start', 'node-worker', '--engine-url', url], remote);
    expect(started.code, started.stderr).toBe(0);
    await until('node-worker running again', async () => (await nodeWorkerRow())?.status === 'running');

    const inspected = await iii(['worker', 'inspect', 'node-worker', '--json', '--engine-url', url], remote);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(JSON.parse(inspected.stdout).run.env.DB_URL).toBe('postgres://app:${III_E2E_S}@db/x');
    expect(inspected.stdout).not.toContain(SECRET);
    const revealed = await iii(['worker', 'inspect', 'node-worker', '--reveal', '--engine-url', url], remote);
    expect(revealed.code, revealed.stderr).toBe(0);
    expect(revealed.stdout).toContain(`DB_URL=postgres://app:${SECRET}@db/x`);

    const wrong = await iii(['worker', 'stop', 'node-worker', '--engine-url', url], {
      ...remote,
      III_TOKEN: 'not-the-token',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(
      `Error: the engine at ${url} refused the token in III_TOKEN\nSet III_TOKEN to the "token" of that project's engine.json on the machine that runs it (\`iii ls --json\` there shows where it is; it changes at each start).\n`,
    );
    const { III_TOKEN: _, ...noToken } = remote;
    const missing = await iii(['worker', 'list', '--engine-url', url], noToken);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^Error: managing the engine at ws:\S+ needs its management token\nSet III_TOKEN/,
    );
    expect((await nodeWorkerRow())?.status).toBe('running');

    // `iii trigger` presents the local token, and nothing elsewhere without III_TOKEN.
    const own = await iii(['trigger', 'iii::workers::list']);
    expect(own.code, own.stderr).toBe(0);
    const foreign = await iii(['trigger', 'iii::workers::list', '--address', url], noToken);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/^Error: forbidden: /);
  });
});
