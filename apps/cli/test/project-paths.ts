// Where `iii` keeps a project's own state under $III_HOME, for tests that look at the files.
import { projectPaths } from '@iii/config';

/** The project's engine.json (pid, address, management token of its running `iii`). */
export function recordOf(home: string, configPath: string): string {
  return projectPaths({ home, configPath, env: {} }).engineRecord;
}

/** The project's sandbox state directory (runtime root, workers, watchdog). */
export function sandboxOf(home: string, configPath: string): string {
  return projectPaths({ home, configPath, env: {} }).sandbox;
}

/** The project's own directory under $III_HOME/projects (engine.json, locks, sandbox state). */
export function projectDirOf(home: string, configPath: string): string {
  return projectPaths({ home, configPath, env: {} }).dir;
}
