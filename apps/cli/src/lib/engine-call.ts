import { iiiPaths } from '@iii/config';
import {
  type ConnectEngineOptions,
  connectEngine,
  type EngineControlClient,
  parseDuration,
} from '@iii/engine';
import { usageError } from './usage-error.js';

/**
 * Connects to the running `iii` as its owner (a clear error when there is none), runs `call`, and
 * disconnects: the local one with the token of `$III_HOME/run/engine.json`, or the one at
 * `engineUrl` with `$III_TOKEN`.
 */
export async function withEngine<T>(
  call: (client: EngineControlClient) => Promise<T>,
  engineUrl?: string,
): Promise<T> {
  const client = await connectEngine(engineTarget(engineUrl));
  try {
    return await call(client);
  } finally {
    await client.close();
  }
}

/** What `connectEngine` needs to reach the engine the command is about. */
export function engineTarget(engineUrl: string | undefined, timeoutMs?: number): ConnectEngineOptions {
  return {
    home: iiiPaths().home,
    ...(engineUrl !== undefined ? { engineUrl, token: process.env.III_TOKEN } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };
}

/** The `--timeout` value in milliseconds; a malformed one is a usage error. */
export function graceMs(value: string): number {
  try {
    return parseDuration(value, '--timeout');
  } catch (err) {
    throw usageError(err);
  }
}
