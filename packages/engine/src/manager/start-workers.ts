import { workerFunctions } from '../control/worker-functions.js';
import type { Engine } from '../start-engine.js';
import { type ConfigWatch, watchConfig } from './config-watcher.js';
import { claimProject, removeEngineRecord } from './engine-record.js';
import { WorkerManager, type WorkerManagerOptions } from './worker-manager.js';

/** Options of {@link startWorkers}: the manager's options, or a manager made beforehand. */
export interface StartWorkersOptions extends Partial<WorkerManagerOptions> {
  /** A manager made beforehand, e.g. to pass its `logSink` to `startEngine`. */
  manager?: WorkerManager;
  /**
   * Watch config.yaml and iii.lock and apply every change to the running workers (see
   * {@link WorkerManager.reload}). Default true; false leaves changes for the next start or
   * `iii reload`.
   */
  watch?: boolean;
}

/** The workers of a running `iii`; `stop()` ends them all and removes the project's `engine.json`. */
export interface RunningWorkers {
  manager: WorkerManager;
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * Joins the worker manager to a started engine: registers the `iii::workers::*` built-ins, records
 * the engine in its project's `engine.json` for the other commands (refusing when another `iii`
 * runs the same project), then starts every worker of config.yaml. Workers that cannot start are
 * reported and skipped.
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
  const project = manager.project;
  await claimProject(project, {
    pid: process.pid,
    project: project.name,
    address: engine.address,
    host: engine.host,
    port: engine.port,
    configPath: project.configPath,
    startedAt: new Date().toISOString(),
    sandboxDir: project.sandbox,
    token: engine.managementToken,
  });
  for (const [id, def] of Object.entries(workerFunctions(manager))) engine.registerBuiltin(id, def);
  manager.attachEngine(engine);
  let stopping: Promise<void> | undefined;
  let watch: ConfigWatch | undefined;
  const stop = (o: { timeoutMs?: number } = {}) => {
    stopping ??= (async () => {
      watch?.close();
      try {
        await manager.stopAll(o);
      } finally {
        await removeEngineRecord(project, process.pid);
      }
    })();
    return stopping;
  };
  try {
    await manager.startAll(engine.address);
    if (options.watch !== false && !stopping) {
      watch = watchConfig(manager.configPath, () => manager.reload(), {
        ...(options.report ? { report: options.report } : {}),
      });
    }
  } catch (err) {
    // Only config-wide problems get here (e.g. a malformed config.yaml): nothing runs, nothing is left.
    await stop();
    throw err;
  }
  return { manager, stop };
}
