import type { ProjectPaths } from '@iii/config';
import {
  type ConnectEngineOptions,
  connectEngine,
  type EngineControlClient,
  parseDuration,
} from '@iii/engine/client';
import { currentProject } from './project.js';
import { usageError } from './usage-error.js';

/**
 * Connects to the running `iii` as its owner (a clear error when there is none), runs `call`, and
 * disconnects: the `iii` of the project of `--config` (else `$III_CONFIG_PATH`, else
 * ./config.yaml) with the token of its `engine.json`, or the one at `engineUrl` with `$III_TOKEN`.
 */
export async function withEngine<T>(
  call: (client: EngineControlClient) => Promise<T>,
  engineUrl?: string,
  project: ProjectPaths = currentProject(),
  timeoutMs?: number,
): Promise<T> {
  const client = await connectEngine(engineTarget(engineUrl, timeoutMs, project));
  try {
    return await call(client);
  } finally {
    await client.close();
  }
}

/** What `connectEngine` needs to reach the engine the command is about. */
export function engineTarget(
  engineUrl: string | undefined,
  timeoutMs?: number,
  project: ProjectPaths = currentProject(),
): ConnectEngineOptions {
  return {
    project,
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
