import {
  carryOverRenamedPins,
  dropUnconfiguredPins,
  editConfig,
  ensureHome,
  resolveConfigPath,
} from '@iii/config';
import { DigestMismatchError, ImageStore, openImage, parsePlatform, RegistryClient } from '@iii/oci';
import { imagePresent, imageTarget, installImage } from '@iii/workers';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { note } from '../../lib/note.js';
import { PullProgress, progressModeFor } from '../../lib/progress.js';
import { currentProject, rememberUse } from '../../lib/project.js';
import { configFlag } from '../../lib/worker-flags.js';

interface SyncedWorker {
  name: string;
  image: string;
  digest: string;
  action: 'present' | 'pulled';
}

export default class WorkerSync extends BaseCommand {
  static override summary = 'Install exactly the images pinned in iii.lock.';
  static override description =
    'For each worker in iii.lock, fetches the pinned manifest digest (never what a tag points to now) and unpacks it, so a new machine runs the same images. Images already present are left alone. A worker renamed in config.yaml by hand keeps the pin of its old name (when no other pin or worker names the same image); pins of workers that are no longer in config.yaml (deleted by hand) are removed from iii.lock.';
  static override examples = [
    '<%= config.bin %> worker sync',
    '<%= config.bin %> worker sync --config deploy/config.yaml',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    insecure: Flags.boolean({
      description: 'Allow plain HTTP and unverified TLS to registries.',
      default: false,
    }),
    config: configFlag,
  };

  async run(): Promise<{
    workers: SyncedWorker[];
    removed: string[];
    renamed: { from: string; to: string }[];
  }> {
    const { flags } = await this.parse(WorkerSync);
    const configPath = resolveConfigPath({ flag: flags.config });
    // config.yaml says what should run: a pin whose worker was deleted there goes too.
    // A worker renamed by hand keeps its pin first; what is left of removed workers goes.
    const { doc, lock, removed, renamed } = await editConfig(configPath, (state) => {
      const carried = carryOverRenamedPins(state.lock, state.doc.workers);
      const { lock: kept, dropped } = dropUnconfiguredPins(carried.lock, state.doc.workers);
      return {
        lock: kept,
        result: { doc: state.doc, lock: kept, removed: dropped, renamed: carried.renamed },
      };
    });
    for (const r of renamed) {
      note(
        `Worker "${r.to}" keeps the pin of "${r.from}" (renamed in config.yaml): ${lock.workers[r.to]?.digest.slice(0, 19)}…`,
      );
    }
    for (const name of removed) note(`Removed "${name}" from iii.lock: it is no longer in config.yaml.`);
    await rememberUse(currentProject({ config: flags.config }));
    const paths = await ensureHome();
    const store = new ImageStore(paths.store);
    const progress = new PullProgress(process.stderr, progressModeFor(process.stderr, this.jsonEnabled()));
    const client = new RegistryClient({ insecure: flags.insecure, onRetry: (e) => progress.retrying(e) });
    const cwd = process.cwd();
    const out: SyncedWorker[] = [];
    try {
      for (const [name, pin] of Object.entries(lock.workers).sort(([a], [b]) => a.localeCompare(b))) {
        if (await imagePresent(store, paths.rootfs, pin.digest, paths.snapshots)) {
          out.push({ name, image: pin.image, digest: pin.digest, action: 'present' });
          continue;
        }
        const target = imageTarget(pin.image, cwd);
        // Registry images are fetched by the pinned manifest digest itself; local images are opened
        // for the pinned platform and must still have that digest.
        const source =
          target.source.transport === 'registry'
            ? { ...target.source, reference: target.source.reference.with({ digest: pin.digest }) }
            : target.source;
        const image = await openImage(source, { client, platform: parsePlatform(pin.platform) });
        progress.message(`Pulling ${pin.image}@${pin.digest}`);
        try {
          if (image.digest !== pin.digest)
            throw new DigestMismatchError(pin.digest, image.digest, 'manifest');
          await installImage(image, {
            store,
            rootfsDir: paths.rootfs,
            snapshotsDir: paths.snapshots,
            progress,
            names: [pin.image],
          });
        } finally {
          await image.close?.();
        }
        out.push({ name, image: pin.image, digest: pin.digest, action: 'pulled' });
        note(`Installed ${name}: ${pin.image}@${pin.digest.slice(0, 19)}…`);
      }
    } finally {
      client.close();
    }
    const unpinned = doc.workers.filter((w) => !lock.workers[w.name]).map((w) => w.name);
    if (unpinned.length > 0) {
      note(
        `Warning: not in iii.lock, so not installed: ${unpinned.join(', ')}. Pin them with \`iii worker update\`.`,
      );
    }
    note(`${out.length} pinned image(s) present.`);
    return { workers: out, removed, renamed };
  }
}
