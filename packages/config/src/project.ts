import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { iiiPaths } from './paths.js';

/**
 * One project: one config.yaml. Many projects share a `$III_HOME` (its store and rootfs cache); each
 * has a directory of its own under `$III_HOME/projects` for what must not cross over: the record of
 * its running `iii` (with the management token), the lock that lets one `iii` run it, and its
 * sandboxes (bundles, runtime state, overlays, logs, watchdog). Container ids and cgroups are derived
 * from the sandbox directory, so two projects may both have a worker called `api`.
 */
export interface ProjectPaths {
  /** `$III_HOME`, shared by every project. */
  home: string;
  /** config.yaml by its real path (symlinks resolved): what identifies the project. */
  configPath: string;
  /** Short name for people: `--project-name` / `$III_PROJECT_NAME`, else its directory's name. */
  name: string;
  /** The project's directory name under `$III_HOME/projects`: its directory's name and a hash of the path. */
  key: string;
  /** `$III_HOME/projects/<key>`. */
  dir: string;
  /** `engine.json`: pid, address, config path and management token of the project's running `iii`. */
  engineRecord: string;
  /** Held while an `iii` checks that no other runs the project and records itself. */
  engineLock: string;
  /** Sandbox state directory of the project's workers (`@iii/sandbox`'s `stateDir`). */
  sandbox: string;
}

/** What names a project: `$III_HOME`, its config.yaml, and a name given by flag. */
export interface ProjectOptions {
  /** `$III_HOME`. */
  home: string;
  /** config.yaml (need not exist: `iii` runs an engine without workers then). */
  configPath: string;
  /** A name given with `--project-name`; else `$III_PROJECT_NAME`, else the directory's name. */
  name?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** The directory holding every project's own state. */
export function projectsDir(home: string): string {
  return iiiPaths({ env: { III_HOME: home } }).projects;
}

/** config.yaml with symlinks resolved, as far as the path exists (a file not written yet keeps its name). */
export function realConfigPath(configPath: string): string {
  const abs = resolve(configPath);
  try {
    return realpathSync.native(abs);
  } catch {}
  try {
    return join(realpathSync.native(dirname(abs)), basename(abs));
  } catch {
    return abs;
  }
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** Like Compose: lowercase letters, digits, `-` and `_`, starting with a letter or digit. */
export function projectNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > 63) return 'it is longer than 63 characters';
  if (!NAME.test(name)) return 'use lowercase letters, digits, "-" and "_", starting with a letter or digit';
  return undefined;
}

/** A directory name made into a project name: lowercased, other characters dropped (`My App` → `myapp`). */
export function projectNameOf(directory: string): string {
  const name = directory
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[-_]+/, '')
    .slice(0, 63);
  return name || 'default';
}

/**
 * The project of a config.yaml in `$III_HOME`. Pure apart from resolving symlinks; creates nothing.
 * An invalid name given by flag or environment is a {@link ConfigError}.
 */
export function projectPaths(options: ProjectOptions): ProjectPaths {
  const configPath = realConfigPath(options.configPath);
  const folder = basename(dirname(configPath));
  const given = options.name ?? (options.env ?? process.env).III_PROJECT_NAME;
  if (given !== undefined && given !== '') {
    const problem = projectNameProblem(given);
    if (problem) {
      throw new ConfigError(
        'INVALID_PROJECT_NAME',
        `invalid project name "${given}": ${problem}`,
        'Pick a name such as "shop-api" with --project-name or $III_PROJECT_NAME.',
      );
    }
  }
  const name = given || projectNameOf(folder);
  const hash = createHash('sha256').update(configPath).digest('hex').slice(0, 12);
  const key = `${projectNameOf(folder).slice(0, 24)}-${hash}`;
  const dir = join(projectsDir(options.home), key);
  return {
    home: iiiPaths({ env: { III_HOME: options.home } }).home,
    configPath,
    name,
    key,
    dir,
    engineRecord: join(dir, 'engine.json'),
    engineLock: join(dir, 'engine.lock'),
    sandbox: join(dir, 'sandbox'),
  };
}
