import { hostname } from 'node:os';
import { DEFAULT_ENGINE_URL } from './protocol/engine-functions.js';

/** Environment variables the defaults read; a plain record so tests and tools can pass their own. */
export type Env = Record<string, string | undefined>;

/** The engine address: `$III_URL`, then `$III_ENGINE_URL`, then `ws://localhost:49134`. */
export function defaultEngineAddress(env: Env = process.env): string {
  return env.III_URL || env.III_ENGINE_URL || DEFAULT_ENGINE_URL;
}

/** The worker name: `$III_WORKER_NAME` (set for managed workers), then `hostname:pid`. */
export function defaultWorkerName(env: Env = process.env, pid: number = process.pid): string {
  return env.III_WORKER_NAME || `${hostname()}:${pid}`;
}

/**
 * Handshake headers: `Authorization: Bearer $III_TOKEN` when it is set (the engine owner's
 * management token, as the official SDKs send it), then the caller's own headers, which win.
 */
export function defaultHeaders(
  headers: Record<string, string> | undefined,
  env: Env = process.env,
): Record<string, string> | undefined {
  const token = env.III_TOKEN;
  if (!token) return headers;
  return { Authorization: `Bearer ${token}`, ...headers };
}
