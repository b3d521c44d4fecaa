import { workerFunctions } from '../control/worker-functions.js';
import type { Engine } from '../start-engine.js';
import { readEngineRecord, removeEngineRecord, writeEngineRecord } from './engine-record.js';
import { EngineAlreadyRunningError } from './errors.js';
import { WorkerManager, type WorkerManagerOptions } from './worker-manager.js';

export interface StartWorkersOptions extends Partial<WorkerManagerOptions> {
  /** A manager made beforehand, e.g. to pass its `logSink` to `startEngine`. */
  manager?: WorkerManager;
}

/** The workers of a running `iii`; `stop()` ends them all and removes `run/engine.json`. */
export interface RunningWorkers {
  manager: WorkerManager;
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * Joins the worker manager to a started engine: registers the `iii::workers::*` built-ins, records
 * the engine in `$III_HOME/run/engine.json` for the other commands, then starts every worker of
 * config.yaml. Workers that cannot start are reported and skipped.
 *
 * ```ts
 * const manager = new WorkerManager({ configPath, home, report: (m) => console.error(m) });
 * const engine = await startEngine({ host, port, logSink: manager.logSink });
 * const workers = await startWorkers(engine, { manager });
 * process.once('SIGINT', async () => { await workers.stop(); await engine.close(); });
 * ```
 */
export async function startWorkers(engine: Engine, options: StartWorkersOptions): Promise<RunningWorkers> {
  const manager =
    options.manager ??
    new WorkerManager({
      configPath: options.configPath ?? 'config.yaml',
      home: options.home ?? (process.env.III_HOME || `${process.env.HOME}/.iii`),
      ...options,
    });
  const home = manager.paths.home;
  const other = await readEngineRecord(home);
  if (other && other.pid !== process.pid) throw new EngineAlreadyRunningError(other.pid, other.address);
  for (const [id, def] of Object.entries(workerFunctions(manager))) engine.registerBuiltin(id, def);
  manager.attachEngine(engine);
  await writeEngineRecord(home, {
    pid: process.pid,
    address: engine.address,
    host: engine.host,
    port: engine.port,
    configPath: options.configPath ?? manager.configPath,
    startedAt: new Date().toISOString(),
    sandboxDir: manager.paths.sandbox,
    token: engine.managementToken,
  });
  let stopping: Promise<void> | undefined;
  const stop = (o: { timeoutMs?: number } = {}) => {
    stopping ??= (async () => {
      try {
        await manager.stopAll(o);
      } finally {
        await removeEngineRecord(home, process.pid);
      }
    })();
    return stopping;
  };
  try {
    await manager.startAll(engine.address);
  } catch (err) {
    // Only config-wide problems get here (e.g. a malformed config.yaml): nothing runs, nothing is left.
    await stop();
    throw err;
  }
  return { manager, stop };
}
