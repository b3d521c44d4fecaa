import { readFile } from 'node:fs/promises';
import { delimiter } from 'node:path';
import type { ProjectPaths } from '@iii/config';
import {
  containerId,
  createDriver,
  type ExecHandle,
  type ExecRequest,
  KNOWN_RUNTIMES,
  type OciRuntimeSpec,
  type RuntimeDriver,
  startExec,
  which,
  workerPaths,
} from '@iii/sandbox';
import { WorkerNotStartedError } from './errors.js';

/**
 * Runs a command in a running worker of the project, straight through the OCI runtime's state in
 * the project's sandbox directory rather than through the engine: stdin, stdout, stderr and a terminal then flow
 * between the user and the command with nothing in between (the engine protocol has no streams
 * or terminals), and the signals of Ctrl-C reach the command directly. It needs the user who runs
 * `iii`, which `$III_HOME` (mode 0700) requires anyway.
 */
export async function execInWorker(
  project: Pick<ProjectPaths, 'sandbox'>,
  name: string,
  request: ExecRequest,
): Promise<ExecHandle> {
  const stateDir = project.sandbox;
  const paths = workerPaths(stateDir, name);
  const id = containerId(stateDir, name);
  const driver = await runningDriver(stateDir, id);
  if (!driver) throw new WorkerNotStartedError(name, 'no running sandbox');
  // The worker's process as it runs (env, cwd, user) is the base the command inherits.
  const spec = JSON.parse(await readFile(paths.config, 'utf8')) as OciRuntimeSpec;
  return startExec({ driver, id, base: spec.process, runDir: paths.run }, request);
}

/** A runtime binary on PATH, or in the sbin directories a user's PATH may lack (runc lives in /usr/sbin). */
function findBinary(name: string): Promise<string | undefined> {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    '/usr/local/sbin',
    '/usr/sbin',
    '/sbin',
  ];
  return which(name, { PATH: dirs.join(delimiter) });
}

/** The runtime (of those iii uses) whose state root holds the running container `id`. */
async function runningDriver(stateDir: string, id: string): Promise<RuntimeDriver | undefined> {
  for (const name of KNOWN_RUNTIMES) {
    const binary = await findBinary(name);
    if (!binary) continue;
    const driver = createDriver(name, binary, stateDir);
    const state = await driver.state(id).catch(() => undefined);
    if (state?.status === 'running') return driver;
  }
  return undefined;
}
