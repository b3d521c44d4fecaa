import { access, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@iii/base';
import * as z from 'zod';
import { lockPathFor } from './config-path.js';
import { type LockEntry, readLockFile } from './iii-lock.js';
import { type ProjectPaths, projectsDir } from './project.js';
import { READ_ONCE } from './schema.js';

/**
 * `$III_HOME/projects/<key>/project.json`: that the project uses this `$III_HOME`'s image store. The
 * store is shared, so what one project may delete (a prune) depends on what the others pin: every
 * command that reads or writes a project's config.yaml or iii.lock remembers it here, and a project
 * whose config.yaml is gone is forgotten.
 */
// Built by the function that reads the records, not when the module loads: every command loads this
// package, few read the records, and building a zod schema takes a measurable part of a command's
// start-up.
function knownProjectSchema() {
  return z.object({
    name: z.string().min(1),
    configPath: z.string().min(1),
    lockPath: z.string().min(1),
    lastUsed: z.string(),
  });
}

/** A project this `$III_HOME` knows of. */
export interface KnownProject extends z.infer<ReturnType<typeof knownProjectSchema>> {
  /** Its directory name under `$III_HOME/projects`. */
  key: string;
}

function recordPath(dir: string): string {
  return join(dir, 'project.json');
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** How stale `lastUsed` may get before a command writes it again: it only tells people when. */
const LAST_USED_PRECISION_MS = 60 * 60 * 1000;

/**
 * Remembers that the project uses this `$III_HOME` (when its config.yaml exists). Cheap enough to
 * call on every use: the record is written only when the project's name or paths changed (the name
 * it was last used under wins) or it was last written over an hour ago, so most commands write (and
 * fsync) nothing.
 */
export async function rememberProject(
  project: ProjectPaths,
  now: () => Date = () => new Date(),
): Promise<void> {
  if (!(await exists(project.configPath))) return;
  const record = {
    name: project.name,
    configPath: project.configPath,
    lockPath: lockPathFor(project.configPath),
    lastUsed: now().toISOString(),
  };
  const previous = await readFile(recordPath(project.dir), 'utf8').then(
    (text) => JSON.parse(text) as Partial<typeof record>,
    () => undefined,
  );
  const age = Date.parse(record.lastUsed) - Date.parse(previous?.lastUsed ?? '');
  if (
    previous?.name === record.name &&
    previous.configPath === record.configPath &&
    previous.lockPath === record.lockPath &&
    age >= 0 &&
    age < LAST_USED_PRECISION_MS
  ) {
    return;
  }
  await mkdir(project.dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(recordPath(project.dir), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

/**
 * The projects that use this `$III_HOME`, by config path. One whose config.yaml is gone is forgotten
 * (its record removed; its directory, with its logs, stays). Unreadable records are skipped.
 */
export async function knownProjects(home: string): Promise<KnownProject[]> {
  const dir = projectsDir(home);
  const keys = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const out: KnownProject[] = [];
  const schema = knownProjectSchema();
  for (const key of keys.sort()) {
    const path = recordPath(join(dir, key));
    let parsed: z.infer<typeof schema>;
    try {
      const result = schema.safeParse(JSON.parse(await readFile(path, 'utf8')), READ_ONCE);
      if (!result.success) continue;
      parsed = result.data;
    } catch {
      continue;
    }
    if (!(await exists(parsed.configPath))) {
      await rm(path, { force: true });
      continue;
    }
    out.push({ ...parsed, key });
  }
  return out.sort((a, b) => a.configPath.localeCompare(b.configPath));
}

/** What one known project pins in its iii.lock. */
export interface ProjectPins {
  project: KnownProject;
  /** Worker name → its pin. Empty when the project has no iii.lock. */
  workers: Record<string, LockEntry>;
  /** Why its iii.lock could not be read (malformed, unreadable): what it pins is unknown then. */
  problem?: string;
}

/** The pins of every project this `$III_HOME` knows of (see {@link knownProjects}). */
export async function pinsOfKnownProjects(home: string): Promise<ProjectPins[]> {
  const out: ProjectPins[] = [];
  for (const project of await knownProjects(home)) {
    try {
      out.push({ project, workers: (await readLockFile(project.lockPath)).workers });
    } catch (err) {
      out.push({ project, workers: {}, problem: (err as Error).message });
    }
  }
  return out;
}
