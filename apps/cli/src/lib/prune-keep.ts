import { acquireConfigLock, configLockPath, type ProjectPins, pinsOfKnownProjects } from '@iii/config';
import type { ProjectInUse } from '@iii/engine';

/** A project as prune names it. */
export interface NamedProject {
  name: string;
  configPath: string;
}

export function named(p: ProjectPins): NamedProject {
  return { name: p.project.name, configPath: p.project.configPath };
}

/** Manifest and index digests a project pins. */
export function pinnedDigests(p: ProjectPins): Set<string> {
  const out = new Set<string>();
  for (const pin of Object.values(p.workers)) {
    out.add(pin.digest);
    if (pin.index) out.add(pin.index);
  }
  return out;
}

/** A known project whose iii.lock cannot be read: what it pins is unknown, so prune cannot know what to keep. */
export class UnknownPinsError extends Error {
  readonly code = 'PROJECT_PINS_UNREADABLE';
  readonly hint: string;
  constructor(p: ProjectPins) {
    super(`cannot tell which images project ${p.project.name} (${p.project.configPath}) pins: ${p.problem}`);
    this.name = 'UnknownPinsError';
    this.hint = `Fix ${p.project.lockPath} (or delete that project's config.yaml if it is gone for good), or delete its images too with \`iii worker prune --all\`.`;
  }
}

/**
 * The images a prune keeps. Always what any project's `iii` runs now (and everything a running
 * `iii` that did not answer pins). Without `all`, everything every known project pins; with `all`,
 * only the pins of `configPath` while its own `iii` runs.
 */
export function keepForPrune(options: {
  configPath: string;
  all: boolean;
  projects: readonly ProjectPins[];
  inUse: readonly ProjectInUse[];
}): Set<string> {
  const { configPath, all, projects, inUse } = options;
  const keep = new Set(inUse.flatMap((u) => u.digests));
  const ownRuns = inUse.some((u) => u.project.configPath === configPath);
  for (const p of projects) {
    const silent = inUse.some((u) => !u.answered && u.project.configPath === p.project.configPath);
    const own = p.project.configPath === configPath;
    if (!all || silent || (own && ownRuns)) for (const d of pinnedDigests(p)) keep.add(d);
  }
  return keep;
}

/**
 * Runs `fn` holding the config lock of each of `configPaths` (taken in path order, so two prunes
 * cannot wait on each other): no `add` pins an image in any of them while its blobs are judged unused.
 */
export async function withConfigLocks<T>(configPaths: readonly string[], fn: () => Promise<T>): Promise<T> {
  const byLock = new Map(configPaths.map((p) => [configLockPath(p), p]));
  const ordered = [...byLock.keys()].sort().map((lock) => byLock.get(lock)!);
  const releases: (() => Promise<void>)[] = [];
  try {
    for (const configPath of ordered) releases.push(await acquireConfigLock(configPath));
    return await fn();
  } finally {
    for (const release of releases.reverse()) await release();
  }
}

/**
 * The image roots running workers run on, which a prune keeps; undefined when a running `iii` did not
 * answer, so what runs is not known (merged trees then all stay).
 */
export function rootfsInUseOf(inUse: readonly ProjectInUse[]): Set<string> | undefined {
  return inUse.every((u) => u.answered) ? new Set(inUse.flatMap((u) => u.rootfs)) : undefined;
}

/**
 * What a prune without --all keeps beyond the current project's iii.lock ({@link keepForPrune}), for
 * the commands that say what it would free (`system df`, `worker remove`), and {@link rootfsInUseOf}.
 */
export async function keptByPrune(home: string): Promise<{ keep: Set<string>; rootfsInUse?: Set<string> }> {
  const projects = await pinsOfKnownProjects(home);
  const { imagesInUse } = await import('@iii/engine');
  const inUse = await imagesInUse(home);
  // Without --all every project's pins stay, whichever project asks.
  const keep = keepForPrune({ configPath: '', all: false, projects, inUse });
  const rootfsInUse = rootfsInUseOf(inUse);
  return rootfsInUse ? { keep, rootfsInUse } : { keep };
}
