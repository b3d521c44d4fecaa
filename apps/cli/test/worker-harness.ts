// Shared set-up of the `iii worker` acceptance tests: a temp $III_HOME and working directory, the
// built binary, a request-counting proxy in front of a registry and a fixture worker-registry API.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

export interface Sandbox {
  root: string;
  home: string;
  cwd: string;
  configPath: string;
  lockPath: string;
  env: NodeJS.ProcessEnv;
  remove(): Promise<void>;
}

/** A fresh $III_HOME and working directory; config.yaml and iii.lock live in the working directory. */
export async function makeSandbox(env: NodeJS.ProcessEnv = {}): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'iii-worker-test-'));
  const home = join(root, 'home');
  const cwd = join(root, 'work');
  await mkdir(cwd, { recursive: true });
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('III_') || k === 'III_FIXTURES_DIR'),
  );
  return {
    root,
    home,
    cwd,
    configPath: join(cwd, 'config.yaml'),
    lockPath: join(cwd, 'iii.lock'),
    env: { ...base, CI: 'true', III_HOME: home, ...env },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `iii` in the sandbox (no terminal: stdin is /dev/null). */
export function iii(sb: Sandbox, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { cwd: sb.cwd, env: { ...sb.env, ...env }, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

/** Starts `iii` without waiting, for tests that kill it. */
export function spawnIii(sb: Sandbox, args: string[]): ChildProcess {
  return spawn(process.execPath, [bin, ...args], { cwd: sb.cwd, env: sb.env, stdio: 'ignore' });
}

export interface CountingProxy {
  /** `127.0.0.1:PORT`: use it as the registry host of image references. */
  host: string;
  manifestGets(): number;
  blobGets(): number;
  reset(): void;
  close(): Promise<void>;
}

/** A pass-through HTTP proxy in front of a plain registry that counts manifest and blob requests. */
export async function countingProxy(target: string): Promise<CountingProxy> {
  const [targetHost, targetPort] = target.split(':') as [string, string];
  let manifests = 0;
  let blobs = 0;
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    if (req.method === 'GET' && /\/manifests\//.test(path)) manifests++;
    if (req.method === 'GET' && /\/blobs\/sha256:/.test(path)) blobs++;
    const upstream = request(
      {
        host: targetHost,
        port: Number(targetPort),
        method: req.method,
        path,
        headers: { ...req.headers, host: target },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const port = await listen(server);
  return {
    host: `127.0.0.1:${port}`,
    manifestGets: () => manifests,
    blobGets: () => blobs,
    reset: () => {
      manifests = 0;
      blobs = 0;
    },
    close: () => close(server),
  };
}

export interface FixtureApi {
  url: string;
  close(): Promise<void>;
}

/** A stand-in for the iii worker registry: `GET /download/<name>?version=` answers from `entries`. */
export async function fixtureApi(entries: Record<string, Record<string, unknown>>): Promise<FixtureApi> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const name = decodeURIComponent(url.pathname.replace(/^\/download\//, ''));
    const entry = url.pathname.startsWith('/download/') ? entries[name] : undefined;
    if (!entry) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const version = url.searchParams.get('version') ?? 'latest';
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ ...entry, version: version === 'latest' ? '1.0.0' : version }));
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, close: () => close(server) };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
