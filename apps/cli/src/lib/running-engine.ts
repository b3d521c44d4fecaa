/** What the worker commands need to know about a running `iii`. */
export interface RunningEngine {
  pid: number;
  address: string;
  /** The config.yaml it runs. */
  configPath: string;
}

/**
 * The running `iii` recorded in `$III_HOME/run/engine.json`, if its process is alive. The engine
 * package is loaded only here, on demand, so commands that merely edit config.yaml start fast.
 */
export async function runningEngine(home: string): Promise<RunningEngine | undefined> {
  const { readEngineRecord } = await import('@iii/engine');
  const record = await readEngineRecord(home).catch(() => undefined);
  return record ? { pid: record.pid, address: record.address, configPath: record.configPath } : undefined;
}
