import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import { freePort } from './free-port.ts';
import { registryRequest } from './registry-request.ts';
import { requireTools } from './require-tools.ts';
import { selfSignedCertificate } from './self-signed-cert.ts';
import { startTokenServer, type TokenServer } from './token-server.ts';

/**
 * - `plain`: HTTP, no auth.
 * - `basic`: HTTPS with a self-signed certificate for 127.0.0.1, htpasswd (Basic) auth.
 * - `token`: HTTP on loopback, bearer-token auth against a token server of ours (Docker Hub / GHCR flow).
 */
export type RegistryFlavor = 'plain' | 'basic' | 'token';

export interface StartRegistryOptions {
  flavor: RegistryFlavor;
  /** Account for `basic` and `token` (defaults: `tester` and a random password). */
  username?: string;
  password?: string;
  /** `token` only: whether requests without credentials get pull-only tokens (default true). */
  anonymousPull?: boolean;
  signal?: AbortSignal;
}

export interface TestRegistry {
  flavor: RegistryFlavor;
  /** `127.0.0.1:PORT`, the host part of image references (`127.0.0.1:PORT/repo:tag`). */
  host: string;
  /** `http://host` or `https://host`. */
  url: string;
  username?: string;
  password?: string;
  /** TLS flavors: PEM of the self-signed certificate to trust (it is its own CA). */
  caFile?: string;
  /** TLS flavors: directory holding only `ca.crt`, for `skopeo --cert-dir` / containers' certs.d. */
  certDir?: string;
  /** `token` flavor: the realm and a count of token requests served. */
  tokenServer?: { url: string; requests(): number };
  /** Temp directory holding config, storage and certificates; removed by `stop()`. */
  dir: string;
  /** Stops the registry by PID (SIGTERM, then SIGKILL), stops the token server, removes `dir`. */
  stop(): Promise<void>;
}

/** Thrown when the registry process does not come up. */
export class RegistryStartError extends Error {
  readonly code = 'TEST_REGISTRY_START_FAILED';
  readonly hint =
    'Check that docker-registry is installed (bash tools/test-env/install.sh) and its output above.';
  constructor(message: string) {
    super(message);
    this.name = 'RegistryStartError';
  }
}

const START_ATTEMPTS = 5;
const READY_TIMEOUT_MS = 15_000;

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

function spawnRegistry(configFile: string): Running {
  // Drop REGISTRY_* variables: distribution lets them override any config value.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')));
  const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      keep(Buffer.from(String(error)));
      resolve();
    });
  });
  return { child, exited, output: () => output };
}

async function stopChild(running: Running): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return;
  running.child.kill('SIGTERM');
  const stopped = await Promise.race([running.exited.then(() => true), delay(3000, false)]);
  if (!stopped) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
}

/** Polls `GET /v2/` until the registry answers anything (401 counts: it is up, just asking for auth). */
async function waitReady(
  running: Running,
  endpoint: { url: string; caFile?: string },
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  void running.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    if (exited) return false;
    try {
      const res = await registryRequest(endpoint, '/v2/', { signal });
      if (res.status === 200 || res.status === 401) return true;
    } catch {
      // Not listening yet.
    }
    await delay(20);
  }
  throw new RegistryStartError(
    `docker-registry did not answer within ${READY_TIMEOUT_MS} ms:\n${running.output()}`,
  );
}

/**
 * Starts a real `docker-registry` (CNCF distribution) on a free 127.0.0.1 port with filesystem storage in
 * a fresh temp dir. Always call `stop()` (e.g. in `afterAll`).
 *
 * @example
 * const registry = await startRegistry({ flavor: 'token' });
 * try { ... } finally { await registry.stop(); }
 */
export async function startRegistry(options: StartRegistryOptions): Promise<TestRegistry> {
  const { flavor, signal } = options;
  requireTools(flavor === 'plain' ? ['docker-registry'] : ['docker-registry', 'openssl']);
  const dir = await mkdtemp(join(tmpdir(), `iii-registry-${flavor}-`));
  let tokenServer: TokenServer | undefined;
  try {
    const username = flavor === 'plain' ? undefined : (options.username ?? 'tester');
    const password = flavor === 'plain' ? undefined : (options.password ?? randomBytes(12).toString('hex'));
    const config: Record<string, unknown> = {
      version: '0.1',
      log: { level: 'error', accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: join(dir, 'data') },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: { secret: randomBytes(16).toString('hex') },
    };
    const http = config.http as Record<string, unknown>;
    let caFile: string | undefined;
    let certDir: string | undefined;

    if (flavor === 'basic') {
      await mkdir(join(dir, 'tls'));
      const cert = await selfSignedCertificate(join(dir, 'tls'), 'registry', '127.0.0.1', signal);
      http.tls = { certificate: cert.certFile, key: cert.keyFile };
      // containers' certs.d convention: a directory with only `*.crt` CA files.
      certDir = join(dir, 'certs.d');
      await mkdir(certDir);
      caFile = join(certDir, 'ca.crt');
      await copyFile(cert.certFile, caFile);
      const htpasswd = join(dir, 'htpasswd');
      // Cost 4 (the minimum): the registry checks the hash on every request, and tests make many.
      await writeFile(htpasswd, `${username}:${bcrypt.hashSync(password!, 4)}\n`);
      config.auth = { htpasswd: { realm: 'iii-test-registry', path: htpasswd } };
    }

    if (flavor === 'token') {
      await mkdir(join(dir, 'token'));
      const signing = await selfSignedCertificate(
        join(dir, 'token'),
        'signing',
        'iii-test-token-issuer',
        signal,
      );
      const service = 'iii-test-registry';
      const issuer = 'iii-test-token-issuer';
      tokenServer = await startTokenServer({
        service,
        issuer,
        keyPem: signing.keyPem,
        certPem: signing.certPem,
        users: { [username!]: password! },
        anonymousPull: options.anonymousPull ?? true,
      });
      config.auth = { token: { realm: tokenServer.url, service, issuer, rootcertbundle: signing.certFile } };
    }

    const scheme = flavor === 'basic' ? 'https' : 'http';
    const configFile = join(dir, 'config.yml');
    let lastOutput = '';
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      const port = await freePort();
      const host = `127.0.0.1:${port}`;
      http.addr = host;
      // JSON is YAML, so no YAML writer is needed.
      await writeFile(configFile, JSON.stringify(config, null, 2));
      const running = spawnRegistry(configFile);
      // Never leave an orphan registry behind if the test process exits without calling stop().
      const killOnExit = () => running.child.kill('SIGKILL');
      process.once('exit', killOnExit);
      const url = `${scheme}://${host}`;
      let ready = false;
      try {
        ready = await waitReady(running, { url, caFile }, signal);
      } catch (error) {
        await stopChild(running);
        process.removeListener('exit', killOnExit);
        throw error;
      }
      if (!ready) {
        // Lost the port to another process between probing and binding: try another one.
        lastOutput = running.output();
        process.removeListener('exit', killOnExit);
        if (/address already in use/i.test(lastOutput)) continue;
        throw new RegistryStartError(`docker-registry exited during start-up:\n${lastOutput}`);
      }
      const server = tokenServer;
      let stopped: Promise<void> | undefined;
      return {
        flavor,
        host,
        url,
        username,
        password,
        caFile,
        certDir,
        tokenServer: server ? { url: server.url, requests: () => server.requests() } : undefined,
        dir,
        stop: () => {
          stopped ??= (async () => {
            await stopChild(running);
            process.removeListener('exit', killOnExit);
            await server?.close();
            await rm(dir, { recursive: true, force: true });
          })();
          return stopped;
        },
      };
    }
    throw new RegistryStartError(
      `docker-registry could not bind a free port after ${START_ATTEMPTS} tries:\n${lastOutput}`,
    );
  } catch (error) {
    await tokenServer?.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
