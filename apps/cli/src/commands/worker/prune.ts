import {
  ConfigNotFoundError,
  configLockPath,
  formatBytes,
  iiiPaths,
  loadConfig,
  resolveConfigPath,
  withFileLock,
} from '@iii/config';
import { ImageStore } from '@iii/oci';
import { deleteCache, lockedDigests, prunePlan } from '@iii/workers';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { confirm } from '../../lib/confirm.js';
import { note } from '../../lib/note.js';
import { currentProject } from '../../lib/project.js';
import { runningEngine } from '../../lib/running-engine.js';
import { configFlag, yesFlag } from '../../lib/worker-flags.js';

interface PruneResult {
  blobs: number;
  rootfs: number;
  /** Sandbox directories (with their logs) of workers no longer in config.yaml. */
  sandboxes: string[];
  /** Bytes freed, or with --dry-run, that would be. */
  freed: number;
  dryRun: boolean;
}

export default class WorkerPrune extends BaseCommand {
  static override summary = 'Delete cached images that no worker uses.';
  static override description =
    'Deletes stored blobs and unpacked root filesystems not needed by an image pinned in iii.lock (a pin and the previous pin `iii worker rollback` goes back to), and the sandbox directories and logs of workers that are no longer in config.yaml and do not run. With --all, deletes every cached image (when `iii` is running, the pinned images stay, since its workers use them). --dry-run only lists what would go.';
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
    const paths = iiiPaths();
    const store = new ImageStore(paths.store);
    const project = currentProject({ config: flags.config });
    const engine = await runningEngine(project);
    const keepPinned = !flags.all || engine !== undefined;
    if (flags.all && engine) note('iii is running: the images pinned in iii.lock are kept.');

    // Holding the config lock keeps an `add` from pinning an image while its blobs are judged unused.
    return withFileLock(configLockPath(configPath), async () => {
      let keep = new Set<string>();
      let configured = new Set<string>();
      let haveConfig = false;
      try {
        const state = await loadConfig(configPath);
        configured = new Set(state.doc.workers.map((w) => w.name));
        haveConfig = true;
        if (keepPinned) keep = lockedDigests(state.lock);
      } catch (err) {
        if (!(err instanceof ConfigNotFoundError) || !flags.all) throw err;
      }
      // Sandboxes are the project's own: another project's workers are never judged removed here.
      const plan = await prunePlan({
        paths: { ...paths, sandbox: project.sandbox },
        store,
        keep,
        configured,
      });
      // Without a config.yaml no worker is known: sandboxes are left alone rather than all deleted.
      if (!haveConfig) plan.sandboxes = [];
      const usage = plan.cache;
      const bytes = usage.bytes + plan.sandboxes.reduce((n, s) => n + s.bytes, 0);
      const nothing = (dryRun: boolean): PruneResult => ({
        blobs: 0,
        rootfs: 0,
        sandboxes: [],
        freed: 0,
        dryRun,
      });
      if (usage.blobs.length === 0 && usage.rootfs.length === 0 && plan.sandboxes.length === 0) {
        note('Nothing to prune.');
        return nothing(flags['dry-run']);
      }
      const summary = `${formatBytes(bytes)} (${usage.blobs.length} blobs, ${usage.rootfs.length} unpacked images, ${plan.sandboxes.length} sandbox directories of removed workers)`;
      const result: PruneResult = {
        blobs: usage.blobs.length,
        rootfs: usage.rootfs.length,
        sandboxes: plan.sandboxes.map((s) => s.name),
        freed: bytes,
        dryRun: flags['dry-run'],
      };
      if (flags['dry-run']) {
        if (!this.jsonEnabled()) {
          for (const b of usage.blobs) this.log(`blob      ${b.digest}  ${formatBytes(b.size)}`);
          for (const r of usage.rootfs) this.log(`unpacked  ${r.path}  ${formatBytes(r.size)}`);
          for (const s of plan.sandboxes) this.log(`sandbox   ${s.path}  ${formatBytes(s.bytes)}`);
        }
        note(`Would free ${summary}. Nothing was deleted (--dry-run).`);
        return result;
      }
      if (!flags.yes) {
        const ok = await confirm(`Delete ${formatBytes(bytes)} of cached images and sandboxes?`, 'prune');
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
