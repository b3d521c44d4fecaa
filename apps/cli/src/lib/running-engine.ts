import { existsSync } from 'node:fs';
import type { ProjectPaths } from '@iii/config';

/** What the worker commands need to know about a running `iii`. */
export interface RunningEngine {
  pid: number;
  address: string;
  /** The config.yaml it runs. */
  configPath: string;
}

/**
 * The running `iii` of the project, from its `engine.json`, if its process is alive. The engine
 * package is loaded only here, on demand, so commands that merely edit config.yaml start fast.
 */
export async function runningEngine(project: ProjectPaths): Promise<RunningEngine | undefined> {
  // No engine.json, no running `iii`: said without loading the engine client (the SDK and ws).
  if (!existsSync(project.engineRecord)) return undefined;
  const { readEngineRecord } = await import('@iii/engine/client');
  const record = await readEngineRecord(project).catch(() => undefined);
  return record ? { pid: record.pid, address: record.address, configPath: record.configPath } : undefined;
}
