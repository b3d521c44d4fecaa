import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { cachedBuild } from '../fixtures/fixture-cache.ts';
import { testCacheDir } from '../fixtures/test-cache-dir.ts';
import { freePort } from '../test-env/free-port.ts';
import { runCommand } from '../test-env/run-command.ts';

/** The npm registry the publish tests run: verdaccio 6.8 runs on Node 20. */
export const VERDACCIO_VERSION = '6.8.0';

export interface NpmRegistryOptions {
  /**
   * Package name patterns that exist only here (never looked up upstream), e.g. `@iii/*`: what we
   * publish must not be mixed with a package of the same name on the public registry.
   */
  localOnly: string[];
  /** Where other packages come from (default: npm's configured registry); `false` for none. */
  uplink?: string | false;
  signal?: AbortSignal;
}

export interface NpmRegistry {
  /** `http://127.0.0.1:PORT/` */
  url: string;
  /** A token that may publish (the registry's only account). */
  token: string;
  /** An npmrc with the registry and the token, for `npm publish` (`npm_config_userconfig`). */
  publishConfig: string;
  dir: string;
  /** Its output so far (for a failing test to show). */
  output(): string;
  stop(): Promise<void>;
}

/** verdaccio, installed once per version (and Node major) outside the clone, like the other tools. */
async function verdaccioBin(signal?: AbortSignal): Promise<string> {
  const { dir } = await cachedBuild({
    cacheDir: testCacheDir(),
    name: 'verdaccio',
    inputs: { version: VERDACCIO_VERSION, node: process.versions.node.split('.')[0] },
    recipe: import.meta.url,
    signal,
    build: async (out) => {
      await runCommand(
        'npm',
        [
          'install',
          '--prefix',
          out,
          '--no-audit',
          '--no-fund',
          '--omit=dev',
          `verdaccio@${VERDACCIO_VERSION}`,
        ],
        { signal },
      );
      return {};
    },
  });
  return join(dir, 'node_modules', 'verdaccio', 'bin', 'verdaccio');
}

function configYaml(dir: string, options: NpmRegistryOptions, uplink: string | false): string {
  const local = options.localOnly
    .map((p) => `  '${p}':\n    access: $all\n    publish: $authenticated\n    unpublish: $authenticated\n`)
    .join('');
  return [
    `storage: ${JSON.stringify(join(dir, 'storage'))}`,
    'auth:',
    '  htpasswd:',
    `    file: ${JSON.stringify(join(dir, 'htpasswd'))}`,
    '    max_users: 1',
    uplink
      ? `uplinks:\n  upstream:\n    url: ${JSON.stringify(uplink)}\n    timeout: 60s\n    max_fails: 5`
      : '',
    'packages:',
    local.trimEnd(),
    "  '**':",
    '    access: $all',
    '    publish: $authenticated',
    uplink ? '    proxy: upstream' : '',
    'server:',
    '  keepAliveTimeout: 60',
    'log:',
    '  type: stdout',
    '  format: pretty',
    '  level: warn',
    '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/**
 * Starts verdaccio on a free 127.0.0.1 port with its storage in a fresh temp dir and one account,
 * and resolves once it answers `/-/ping`.
 */
export async function startNpmRegistry(options: NpmRegistryOptions): Promise<NpmRegistry> {
  const bin = await verdaccioBin(options.signal);
  const uplink =
    options.uplink === undefined
      ? process.env.npm_config_registry || 'https://registry.npmjs.org/'
      : options.uplink;
  const dir = await mkdtemp(join(tmpdir(), 'iii-npm-registry-'));
  const config = join(dir, 'config.yaml');
  await writeFile(config, configYaml(dir, options, uplink));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, '--config', config, '--listen', `127.0.0.1:${port}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production' },
    },
  );
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`verdaccio exited (${child.exitCode}):\n${output}`);
      const ok = await fetch(`${url}-/ping`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`verdaccio did not answer within 60 s:\n${output}`);
      await delay(250);
    }
    // The account that publishes: creating it is how `npm adduser` logs in to verdaccio.
    const password = randomBytes(12).toString('hex');
    const res = await fetch(`${url}-/user/org.couchdb.user:publisher`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'publisher', password }),
    });
    const body = (await res.json()) as { token?: string };
    if (!res.ok || !body.token)
      throw new Error(`verdaccio refused the account: ${res.status} ${JSON.stringify(body)}`);
    const publishConfig = join(dir, 'publish.npmrc');
    const hostPath = url.replace(/^http:/, '');
    await writeFile(publishConfig, `registry=${url}\n${hostPath}:_authToken=${body.token}\n`, {
      mode: 0o600,
    });
    return { url, token: body.token, publishConfig, dir, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
