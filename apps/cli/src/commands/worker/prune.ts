import { access } from 'node:fs/promises';
import {
  ConfigNotFoundError,
  formatBytes,
  iiiPaths,
  knownProjects,
  loadConfig,
  pinsOfKnownProjects,
  resolveConfigPath,
} from '@iii/config';
import { ImageStore } from '@iii/oci';
import { type CacheUsage, deleteCache, lockedDigests, prunePlan } from '@iii/workers';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { confirm } from '../../lib/confirm.js';
import { note } from '../../lib/note.js';
import { currentProject, rememberUse } from '../../lib/project.js';
import {
  keepForPrune,
  type NamedProject,
  named,
  pinnedDigests,
  rootfsInUseOf,
  UnknownPinsError,
  withConfigLocks,
} from '../../lib/prune-keep.js';
import { runningEngine } from '../../lib/running-engine.js';
import { configFlag, yesFlag } from '../../lib/worker-flags.js';

interface PruneResult {
  blobs: number;
  /** Unpacked (merged) root filesystems, `merged` included. */
  rootfs: number;
  /** Of those, merged trees of kept images whose layers are all snapshots now and that no running worker uses. */
  merged: number;
  /** Layer snapshots no kept image has (those of kept images stay, shared or not). */
  snapshots: number;
  /** Snapshots of the images it deletes that stay because a kept image has them too. */
  sharedKept: number;
  /** Sandbox directories (with their logs) of workers no longer in config.yaml. */
  sandboxes: string[];
  /** Downloads that stopped pulls left, which a later pull would have resumed. */
  downloads: number;
  /** Directories of unpacks whose process died before it finished. */
  abandoned: number;
  /** Bytes freed, or with --dry-run, that would be. */
  freed: number;
  dryRun: boolean;
  /** Other projects whose pinned images were kept. */
  keptFor: NamedProject[];
  /** Other projects whose pinned images `--all` deletes, with the workers that pinned them. */
  dropped: (NamedProject & { workers: string[] })[];
}

/** `, 2 unfinished downloads, 1 unfinished unpack` (what stopped pulls left), or nothing. */
function leftovers(usage: CacheUsage): string {
  const parts = [
    [usage.downloads.length, 'unfinished download'],
    [usage.abandoned.length, 'unfinished unpack'],
  ] as const;
  return parts
    .filter(([n]) => n > 0)
    .map(([n, what]) => `, ${n} ${what}${n === 1 ? '' : 's'}`)
    .join('');
}

function projectList(projects: readonly NamedProject[]): string {
  return projects.map((p) => `${p.name} (${p.configPath})`).join(', ');
}

export default class WorkerPrune extends BaseCommand {
  static override summary = 'Delete cached images that no worker uses.';
  static override description =
    "The image store is shared by every project (config.yaml) of this $III_HOME: keeps every image any known project pins (a project is known once an iii command read or wrote its config.yaml, forgotten when that file is gone) or any running worker of any project uses, and says whose images it kept. Deletes stored blobs and unpacked root filesystems not needed by an image pinned in iii.lock (a pin and the previous pin `iii worker rollback` goes back to), the merged copy of a pinned image unpacked before its layers were kept apart, once every layer is a snapshot and no running worker runs on that copy, the sandbox directories and logs of workers that are no longer in config.yaml and do not run, and what stopped pulls left (unfinished downloads a later pull would resume, directories of unpacks whose process died). Layer snapshots go only when no kept image has them, so those shared with a kept image stay. With --all, deletes every cached image no running worker uses, other projects' pinned images too (named first, and asked; their `iii worker sync` fetches them again); while this project's `iii` runs its pinned images stay. Run where there is no config.yaml (and none is named with --config or $III_CONFIG_PATH), it prunes the shared cache alone: what every known project pins stays, and no sandbox is removed. --dry-run only lists what would go.";
  static override examples = [
    '<%= config.bin %> worker prune',
    '<%= config.bin %> worker prune --dry-run',
    '<%= config.bin %> worker prune --all -y',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    all: Flags.boolean({
      description: 'Delete every cached image not used by a running worker.',
      default: false,
    }),
    yes: yesFlag,
    config: configFlag,
    'dry-run': Flags.boolean({ description: 'List what would be deleted; delete nothing.', default: false }),
  };

  async run(): Promise<PruneResult> {
    const { flags } = await this.parse(WorkerPrune);
    const configPath = resolveConfigPath({ flag: flags.config });
    // The store is shared, so a prune needs no project: run where there is no config.yaml (and none is
    // named), it keeps what every known project pins and removes no sandbox. A config.yaml named with
    // --config or $III_CONFIG_PATH must exist, unless --all: a typo must not prune as if none was given.
    const present = await access(configPath).then(
      () => true,
      () => false,
    );
    if (!present && !flags.all && (flags.config || process.env.III_CONFIG_PATH)) {
      throw new ConfigNotFoundError(configPath);
    }
    const paths = iiiPaths();
    const store = new ImageStore(paths.store);
    const project = currentProject({ config: flags.config });
    await rememberUse(project);
    const engine = await runningEngine(project);
    const keepPinned = !flags.all || engine !== undefined;
    if (flags.all && engine) note('iii is running: the images pinned in iii.lock are kept.');

    // The store is shared: no `add` in any known project may pin an image while its blobs are judged unused.
    // A config.yaml that is not there is not locked: no lock file is left in a directory that is no project.
    const known = (await knownProjects(paths.home)).map((k) => k.configPath);
    return withConfigLocks(present ? [configPath, ...known] : known, async () => {
      let keep = new Set<string>();
      let configured = new Set<string>();
      let haveConfig = false;
      try {
        if (present) {
          const state = await loadConfig(configPath);
          configured = new Set(state.doc.workers.map((w) => w.name));
          haveConfig = true;
          if (keepPinned) keep = lockedDigests(state.lock);
        }
      } catch (err) {
        // Deleted since it was looked for: as if it had not been there.
        if (!(err instanceof ConfigNotFoundError)) throw err;
      }
      if (!haveConfig && !flags.all) {
        note(
          `No config.yaml at ${configPath}: pruning the shared cache, keeping what every known project pins.`,
        );
      }
      // What every other project pins, and what any project's running workers use, stays too.
      const projects = await pinsOfKnownProjects(paths.home);
      const unreadable = projects.find((p) => p.problem !== undefined);
      if (unreadable && !flags.all) throw new UnknownPinsError(unreadable);
      const { imagesInUse } = await import('@iii/engine');
      const inUse = await imagesInUse(paths.home);
      for (const u of inUse.filter((x) => !x.answered)) {
        note(`The iii of ${u.project.configPath} did not answer: the images it pins are kept.`);
      }
      for (const d of keepForPrune({ configPath: project.configPath, all: flags.all, projects, inUse }))
        keep.add(d);
      const rootfsInUse = rootfsInUseOf(inUse);
      // Sandboxes are the project's own: another project's workers are never judged removed here.
      const plan = await prunePlan({
        paths: { ...paths, sandbox: project.sandbox },
        store,
        keep,
        configured,
        // Merged trees only when every running iii said what its workers run on.
        ...(rootfsInUse ? { rootfsInUse } : {}),
      });
      // Without a config.yaml no worker is known: sandboxes are left alone rather than all deleted.
      if (!haveConfig) plan.sandboxes = [];
      const usage = plan.cache;
      const bytes = usage.bytes + plan.sandboxes.reduce((n, s) => n + s.bytes, 0);
      const others = projects.filter((p) => p.project.configPath !== project.configPath);
      const keptFor: NamedProject[] = [];
      const stored = new Set(flags.all ? [] : (await store.blobs()).map((b) => b.digest));
      for (const p of flags.all ? [] : others) {
        if ([...pinnedDigests(p)].some((d) => stored.has(d))) keptFor.push(named(p));
      }
      const gone = new Set(usage.blobs.map((b) => b.digest));
      const dropped = others
        .map((p) => ({
          ...named(p),
          workers: Object.entries(p.workers)
            .filter(([, pin]) => gone.has(pin.digest))
            .map(([name]) => name),
        }))
        .filter((d) => d.workers.length > 0);
      if (keptFor.length > 0) {
        note(
          `Kept the images of ${keptFor.length} other project${keptFor.length === 1 ? '' : 's'}: ${projectList(keptFor)}.`,
        );
      }
      const nothing = (dryRun: boolean): PruneResult => ({
        blobs: 0,
        rootfs: 0,
        merged: 0,
        snapshots: 0,
        sharedKept: usage.sharedKept.length,
        sandboxes: [],
        downloads: 0,
        abandoned: 0,
        freed: 0,
        dryRun,
        keptFor,
        dropped: [],
      });
      if (
        usage.blobs.length === 0 &&
        usage.rootfs.length === 0 &&
        usage.snapshots.length === 0 &&
        usage.downloads.length === 0 &&
        usage.abandoned.length === 0 &&
        plan.sandboxes.length === 0
      ) {
        note('Nothing to prune.');
        return nothing(flags['dry-run']);
      }
      const merged = usage.rootfs.filter((r) => r.superseded);
      const summary = `${formatBytes(bytes)} (${usage.blobs.length} blobs, ${usage.rootfs.length - merged.length} unpacked images, ${merged.length > 0 ? `${merged.length} merged ${merged.length === 1 ? 'copy' : 'copies'} of images that now run on their layer snapshots (${formatBytes(merged.reduce((n, r) => n + r.size, 0))}), ` : ''}${usage.snapshots.length} layer snapshots, ${plan.sandboxes.length} sandbox directories of removed workers${leftovers(usage)})`;
      const result: PruneResult = {
        blobs: usage.blobs.length,
        rootfs: usage.rootfs.length,
        merged: merged.length,
        snapshots: usage.snapshots.length,
        sharedKept: usage.sharedKept.length,
        sandboxes: plan.sandboxes.map((s) => s.name),
        downloads: usage.downloads.length,
        abandoned: usage.abandoned.length,
        freed: bytes,
        dryRun: flags['dry-run'],
        keptFor,
        dropped,
      };
      if (usage.sharedKept.length > 0) {
        note(
          `Keeps ${usage.sharedKept.length} layer snapshot${usage.sharedKept.length === 1 ? '' : 's'} of the deleted images that kept images share.`,
        );
      }
      if (dropped.length > 0) {
        note(
          `${flags['dry-run'] ? 'This would delete' : 'This deletes'} images that other projects pin: ${dropped.map((d) => `${d.name} (${d.configPath}): ${d.workers.join(', ')}`).join('; ')}.`,
        );
      }
      if (flags['dry-run']) {
        if (!this.jsonEnabled()) {
          for (const b of usage.blobs) this.log(`blob      ${b.digest}  ${formatBytes(b.size)}`);
          for (const r of usage.rootfs) {
            this.log(
              r.superseded
                ? `merged    ${r.path}  ${formatBytes(r.size)}  (its image runs on layer snapshots now)`
                : `unpacked  ${r.path}  ${formatBytes(r.size)}`,
            );
          }
          for (const r of usage.snapshots) this.log(`snapshot  ${r.path}  ${formatBytes(r.size)}`);
          for (const s of plan.sandboxes) this.log(`sandbox   ${s.path}  ${formatBytes(s.bytes)}`);
          for (const d of usage.downloads)
            this.log(`download  ${d.path}  ${formatBytes(d.size)}  (unfinished)`);
          for (const a of usage.abandoned)
            this.log(`unpack    ${a.path}  ${formatBytes(a.size)}  (unfinished)`);
        }
        note(`Would free ${summary}. Nothing was deleted (--dry-run).`);
        return result;
      }
      if (!flags.yes) {
        const ok = await confirm(
          dropped.length > 0
            ? `Delete ${formatBytes(bytes)} of cached images and sandboxes, including the images of ${dropped.length} other project${dropped.length === 1 ? '' : 's'}?`
            : `Delete ${formatBytes(bytes)} of cached images and sandboxes?`,
          'prune',
        );
        if (!ok) {
          note('Nothing deleted.');
          return nothing(false);
        }
      }
      await deleteCache(store, usage);
      const { removeWorkerFiles } = await import('@iii/engine');
      for (const s of plan.sandboxes) await removeWorkerFiles(project, s.name);
      note(`Freed ${summary}.`);
      return result;
    });
  }
}
