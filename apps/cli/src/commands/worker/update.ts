import {
  editConfig,
  ensureHome,
  loadConfig,
  moveWorkerImage,
  resolveConfigPath,
  WorkerNotFoundError,
} from '@iii/config';
import { ImageStore, parsePlatform, RegistryClient } from '@iii/oci';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { note } from '../../lib/note.js';
import { PullProgress, progressModeFor } from '../../lib/progress.js';
import { pullWorkerImage } from '../../lib/pull-worker-image.js';
import { configFlag } from '../../lib/worker-flags.js';
import { imageTarget, storedImageDefaults } from '../../lib/worker-image.js';

interface UpdatedWorker {
  name: string;
  image: string;
  from: string | null;
  to: string;
  changed: boolean;
}

export default class WorkerUpdate extends BaseCommand {
  static override summary = 'Move workers to what their image tags point to now.';
  static override description =
    "Resolves each worker's `image:` again, pulls it, and pins the new digest in iii.lock. New environment defaults of the image are added to `config:`; values you edited are kept.";
  static override examples = [
    '<%= config.bin %> worker update',
    '<%= config.bin %> worker update image-resize',
  ];
  static override enableJsonFlag = true;
  static override args = { name: Args.string({ description: 'Worker to update (default: all).' }) };
  static override flags = {
    platform: Flags.string({
      description: 'Platform to pull (default: the pinned one, else linux/<host arch>).',
      helpValue: 'os/arch[/variant]',
    }),
    insecure: Flags.boolean({
      description: 'Allow plain HTTP and unverified TLS to registries.',
      default: false,
    }),
    config: configFlag,
  };

  async run(): Promise<{ workers: UpdatedWorker[] }> {
    const { args, flags } = await this.parse(WorkerUpdate);
    const configPath = resolveConfigPath({ flag: flags.config });
    const { doc, lock } = await loadConfig(configPath);
    const workers = args.name ? [doc.worker(args.name)] : doc.workers;
    if (args.name && !workers[0]) throw new WorkerNotFoundError(args.name, configPath);
    const paths = await ensureHome();
    const store = new ImageStore(paths.store);
    const progress = new PullProgress(process.stderr, progressModeFor(process.stderr, this.jsonEnabled()));
    const client = new RegistryClient({ insecure: flags.insecure, onRetry: (e) => progress.retrying(e) });
    const cwd = process.cwd();
    const out: UpdatedWorker[] = [];
    try {
      for (const worker of workers) {
        if (!worker) continue;
        const old = lock.workers[worker.name];
        const platformText = flags.platform ?? old?.platform;
        const target = imageTarget(worker.image, cwd);
        const installed = await pullWorkerImage(target.source, {
          client,
          store,
          rootfsDir: paths.rootfs,
          progress,
          image: worker.image,
          ...(platformText ? { platform: parsePlatform(platformText) } : {}),
        });
        const previousDefaults = old ? await storedImageDefaults(store, old.digest) : undefined;
        const changed = await editConfig(configPath, ({ doc: current, lock: pins }) => {
          const entry = current.worker(worker.name);
          if (!entry) throw new WorkerNotFoundError(worker.name, configPath);
          const moved = moveWorkerImage({
            doc: current,
            lock: pins,
            entry,
            image: entry.image,
            pin: {
              digest: installed.digest,
              ...(installed.index ? { index: installed.index } : {}),
              platform: installed.platform,
            },
            previousDefaults,
            nextDefaults: installed.defaults,
          });
          return { ...moved, result: pins.workers[worker.name]?.digest !== installed.digest };
        });
        out.push({
          name: worker.name,
          image: worker.image,
          from: old?.digest ?? null,
          to: installed.digest,
          changed,
        });
        note(
          changed
            ? `Updated ${worker.name}: ${old ? `${old.digest.slice(0, 19)}… → ` : ''}${installed.digest.slice(0, 19)}…`
            : `${worker.name} is up to date.`,
        );
      }
    } finally {
      client.close();
    }
    return { workers: out };
  }
}
