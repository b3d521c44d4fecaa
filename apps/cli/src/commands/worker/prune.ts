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
import { deleteCache, lockedDigests, unreferencedCache } from '@iii/workers';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { confirm } from '../../lib/confirm.js';
import { note } from '../../lib/note.js';
import { runningEngine } from '../../lib/running-engine.js';
import { configFlag, yesFlag } from '../../lib/worker-flags.js';

interface PruneResult {
  blobs: number;
  rootfs: number;
  freed: number;
}

export default class WorkerPrune extends BaseCommand {
  static override summary = 'Delete cached images that no worker uses.';
  static override description =
    'Deletes stored blobs and unpacked root filesystems not needed by an image pinned in iii.lock. With --all, deletes every cached image (when `iii` is running, the pinned images stay, since its workers use them).';
  static override examples = ['<%= config.bin %> worker prune', '<%= config.bin %> worker prune --all -y'];
  static override enableJsonFlag = true;
  static override flags = {
    all: Flags.boolean({
      description: 'Delete every cached image not used by a running worker.',
      default: false,
    }),
    yes: yesFlag,
    config: configFlag,
  };

  async run(): Promise<PruneResult> {
    const { flags } = await this.parse(WorkerPrune);
    const configPath = resolveConfigPath({ flag: flags.config });
    const paths = iiiPaths();
    const store = new ImageStore(paths.store);
    const engine = await runningEngine(paths.home);
    const keepPinned = !flags.all || engine !== undefined;
    if (flags.all && engine) note('iii is running: the images pinned in iii.lock are kept.');

    // Holding the config lock keeps an `add` from pinning an image while its blobs are judged unused.
    return withFileLock(configLockPath(configPath), async () => {
      let keep = new Set<string>();
      if (keepPinned) {
        try {
          keep = lockedDigests((await loadConfig(configPath)).lock);
        } catch (err) {
          if (!(err instanceof ConfigNotFoundError) || !flags.all) throw err;
        }
      }
      const usage = await unreferencedCache(store, paths.rootfs, keep);
      if (usage.bytes === 0 && usage.blobs.length === 0 && usage.rootfs.length === 0) {
        note('Nothing to prune.');
        return { blobs: 0, rootfs: 0, freed: 0 };
      }
      if (!flags.yes) {
        const ok = await confirm(
          `Delete ${formatBytes(usage.bytes)} of cached images?`,
          'prune the image cache',
        );
        if (!ok) {
          note('Nothing deleted.');
          return { blobs: 0, rootfs: 0, freed: 0 };
        }
      }
      await deleteCache(store, usage);
      note(
        `Freed ${formatBytes(usage.bytes)} (${usage.blobs.length} blobs, ${usage.rootfs.length} unpacked images).`,
      );
      return { blobs: usage.blobs.length, rootfs: usage.rootfs.length, freed: usage.bytes };
    });
  }
}
