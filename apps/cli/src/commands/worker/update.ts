import {
  editConfig,
  ensureHome,
  type LockFile,
  loadConfig,
  resolveConfigPath,
  type WorkerEntry,
  WorkerNotFoundError,
} from '@iii/config';
import { ImageStore, parsePlatform, RegistryClient } from '@iii/oci';
import { imageTarget, moveWorkerImage, pullWorkerImage, storedImageDefaults } from '@iii/workers';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { note } from '../../lib/note.js';
import { PullProgress, progressModeFor } from '../../lib/progress.js';
import { currentProject, rememberUse } from '../../lib/project.js';
import { renderError } from '../../lib/render-error.js';
import { runningEngine } from '../../lib/running-engine.js';
import { configFlag } from '../../lib/worker-flags.js';

interface UpdatedWorker {
  name: string;
  image: string;
  from: string | null;
  to: string;
  changed: boolean;
}

interface FailedWorker {
  name: string;
  image: string;
  error: { code: string; message: string; hint?: string | undefined };
}

export default class WorkerUpdate extends BaseCommand {
  static override summary = 'Move workers to what their image tags point to now.';
  static override description =
    "Resolves each worker's `image:` again, pulls it, and pins the new digest in iii.lock. New environment defaults of the image are added to `config:`; values you edited are kept. A worker that fails does not stop the others: each is reported, and the command exits 1 if any failed.";
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

  async run(): Promise<{ workers: UpdatedWorker[]; failed: FailedWorker[] }> {
    const { args, flags } = await this.parse(WorkerUpdate);
    const configPath = resolveConfigPath({ flag: flags.config });
    const { doc, lock } = await loadConfig(configPath);
    await rememberUse(currentProject({ config: flags.config }));
    const workers = args.name ? [doc.worker(args.name)] : doc.workers;
    if (args.name && !workers[0]) throw new WorkerNotFoundError(args.name, configPath);
    const paths = await ensureHome();
    const store = new ImageStore(paths.store);
    const progress = new PullProgress(process.stderr, progressModeFor(process.stderr, this.jsonEnabled()));
    const client = new RegistryClient({ insecure: flags.insecure, onRetry: (e) => progress.retrying(e) });
    const cwd = process.cwd();
    const out: UpdatedWorker[] = [];
    const failed: FailedWorker[] = [];
    const debug = this.argv.includes('--debug') || process.env.III_DEBUG === '1';
    try {
      for (const worker of workers) {
        if (!worker) continue;
        try {
          out.push(
            await updateWorker(worker, {
              configPath,
              lock,
              store,
              client,
              progress,
              rootfsDir: paths.rootfs,
              snapshotsDir: paths.snapshots,
              cwd,
              platform: flags.platform,
            }),
          );
        } catch (err) {
          // One registry that is down or one tag that is gone must not keep the others on old images.
          const r = renderError(err, { debug });
          failed.push({
            name: worker.name,
            image: worker.image,
            error: { code: r.code, message: r.message, hint: r.hint },
          });
          note(`Failed ${worker.name}: ${r.message}${r.hint ? `\n  ${r.hint}` : ''}`);
        }
      }
    } finally {
      client.close();
    }
    const moved = out.filter((w) => w.changed).map((w) => w.name);
    if (
      moved.length > 0 &&
      (await runningEngine(currentProject({ config: flags.config })).catch(() => undefined))
    ) {
      // Watching config.yaml and iii.lock, `iii` restarts them at once; with --no-watch they keep their
      // image until restarted, which `list` and `inspect` show meanwhile.
      note(
        `iii is running: it restarts ${moved.length === 1 ? 'the worker' : 'the workers'} on the new image now, unless it runs with --no-watch; then switch with \`iii reload\` or ${moved.map((n) => `\`iii worker restart ${n}\``).join(', ')}.`,
      );
    }
    if (failed.length > 0) {
      process.exitCode = 1;
      if (!this.jsonEnabled()) {
        const names = failed.map((f) => f.name).join(', ');
        throw Object.assign(
          new Error(
            `${failed.length} of ${failed.length + out.length} worker(s) could not be updated: ${names}`,
          ),
          {
            code: 'UPDATE_FAILED',
            hint: `The others are updated. Fix what is reported above, then run \`iii worker update ${failed.length === 1 ? failed[0]!.name : '<name>'}\`.`,
          },
        );
      }
    }
    return { workers: out, failed };
  }
}

interface UpdateContext {
  configPath: string;
  lock: LockFile;
  store: ImageStore;
  client: RegistryClient;
  progress: PullProgress;
  rootfsDir: string;
  snapshotsDir: string;
  cwd: string;
  platform: string | undefined;
}

/** Pulls what one worker's tag points to now and pins it, merging new image defaults into `config:`. */
async function updateWorker(worker: WorkerEntry, ctx: UpdateContext): Promise<UpdatedWorker> {
  const { configPath, lock, store, client, progress } = ctx;
  const old = lock.workers[worker.name];
  const platformText = ctx.platform ?? old?.platform;
  const target = imageTarget(worker.image, ctx.cwd);
  const installed = await pullWorkerImage(target.source, {
    client,
    store,
    rootfsDir: ctx.rootfsDir,
    snapshotsDir: ctx.snapshotsDir,
    progress,
    image: worker.image,
    ...(platformText ? { platform: parsePlatform(platformText) } : {}),
  });
  for (const w of installed.warnings) process.stderr.write(`Warning: ${w}\n`);
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
  note(
    changed
      ? `Updated ${worker.name}: ${old ? `${old.digest.slice(0, 19)}… → ` : ''}${installed.digest.slice(0, 19)}…`
      : `${worker.name} is up to date.`,
  );
  return { name: worker.name, image: worker.image, from: old?.digest ?? null, to: installed.digest, changed };
}
