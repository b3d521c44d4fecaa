import {
  assertWorkerName,
  carryOverRenamedPins,
  editConfig,
  ensureHome,
  readConfigDocument,
  renamePin,
  resolveConfigPath,
  WorkerExistsError,
} from '@iii/config';
import { ImageStore, parsePlatform, RegistryClient } from '@iii/oci';
import {
  type FromStore,
  type ImageTarget,
  type InstalledImage,
  PULL_POLICIES,
  pullWorkerImage,
  resolveTarget,
  sameImage,
  storedImageDefaults,
  upsertWorkerImage,
  type WorkerUpsertAction,
} from '@iii/workers';
import { Args, Errors, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { runIiiHook } from '../../iii-hooks.js';
import { note } from '../../lib/note.js';
import { PullProgress, progressModeFor } from '../../lib/progress.js';
import { currentProject, rememberUse } from '../../lib/project.js';
import { runningEngine } from '../../lib/running-engine.js';
import { configFlag } from '../../lib/worker-flags.js';

interface AddedWorker {
  name: string;
  image: string;
  digest: string;
  index?: string;
  platform: string;
  rootfs: string;
  action: WorkerUpsertAction;
  /** Set when the tag now points elsewhere than iii.lock (an unchanged entry keeps its pin). */
  lockedDigest?: string;
  /** The old name of a worker renamed in config.yaml by hand, whose pin it keeps. */
  renamedFrom?: string;
  /** Set when the image came from the local store without asking the registry, or when it could not be reached. */
  fromStore?: FromStore;
}

/** What the user hears when the store served an image instead of the registry. */
function fromStoreLine(image: string, from: FromStore): string {
  const which = `${from.digest.slice(0, 19)}… from the local store${from.pulledAt ? `, pulled ${from.pulledAt}` : ''}`;
  return 'unreachable' in from.reason
    ? `${from.reason.unreachable}; using ${which}`
    : `--pull ${from.reason.policy}: using ${image} as stored, ${which}`;
}

export default class WorkerAdd extends BaseCommand {
  static override summary = 'Add container workers to config.yaml from images.';
  static override description =
    `Pulls each image (only what is not cached yet), unpacks it, and writes a worker entry to config.yaml: the image's environment variables become \`config:\` defaults and \`/iii/worker.yaml\` resources become \`resources:\`. The exact image digest is pinned in iii.lock.

An image can be given as:
  name[@version]                    a worker of the iii registry ($III_API_URL)
  [registry/]repo[:tag][@digest]    any OCI image reference (Docker rules: docker.io, library/, latest)
  oci-layout:<dir>[:tag]            a local OCI layout directory
  oci-archive:<file>[:tag]          a tar of an OCI layout
  docker-archive:<file>[:ref]       \`docker save\` output
  <path>                            any of the local forms, detected`;
  static override examples = [
    '<%= config.bin %> worker add ghcr.io/acme/image-resize:1.0.0',
    '<%= config.bin %> worker add image-resize@1.0.0',
    '<%= config.bin %> worker add ./build/worker.tar --name my-worker',
    '<%= config.bin %> worker add localhost:5000/worker:dev --insecure',
    '<%= config.bin %> worker add ghcr.io/acme/image-resize:2.0.0 --name image-resize --force',
    {
      description: 'Offline: use the image the store already has (another project pulled it)',
      command: '<%= config.bin %> worker add ghcr.io/acme/image-resize:1.0.0 --pull never',
    },
  ];
  static override strict = false;
  static override enableJsonFlag = true;
  static override args = {
    image: Args.string({
      description: 'Image to add (see the forms above); several may be given.',
      required: true,
    }),
  };
  static override flags = {
    name: Flags.string({
      char: 'n',
      description:
        'Worker name (default: registry name, else the last path segment). -n is --name here and in `init`; in `worker logs` it is --tail, as in `docker logs -n`.',
    }),
    force: Flags.boolean({
      char: 'f',
      description:
        'Replace the image of an existing worker of that name; your edited config values are kept.',
      default: false,
    }),
    platform: Flags.string({
      description: 'Platform to pull from a multi-platform image (default linux/<host arch>).',
      helpValue: 'os/arch[/variant]',
    }),
    insecure: Flags.boolean({
      description: 'Allow plain HTTP and unverified TLS to the registry.',
      default: false,
    }),
    pull: Flags.option({
      description:
        'always: ask the registry, fail if it cannot be reached; missing: use the stored image if there is one; never: use only the store. Default: ask the registry, use the stored image when it cannot be reached.',
      options: PULL_POLICIES,
    })(),
    wait: Flags.boolean({
      description:
        'While iii runs: wait until the started worker has connected to the engine (--no-wait returns once it is started).',
      default: true,
      allowNo: true,
    }),
    timeout: Flags.string({
      description: 'While iii runs: how long to wait for the worker to connect (e.g. 30s, 2m).',
      default: '60s',
    }),
    config: configFlag,
  };

  async run(): Promise<{ workers: AddedWorker[] }> {
    const { argv, flags } = await this.parse(WorkerAdd);
    const inputs = argv as string[];
    if (flags.name && inputs.length > 1) {
      throw Object.assign(new Errors.CLIError('--name can only be used with a single image', { exit: 2 }), {
        hint: 'Add the images one at a time to name each.',
      });
    }
    const configPath = resolveConfigPath({ flag: flags.config });
    // A bad --timeout is refused before anything is pulled; the engine client loads only when needed.
    const waitMs =
      flags.timeout === '60s' ? 60_000 : (await import('../../lib/engine-call.js')).graceMs(flags.timeout);
    // A broken config.yaml is reported before anything is downloaded (its unknown keys as warnings).
    const before = await readConfigDocument(configPath);

    const paths = await ensureHome();
    const store = new ImageStore(paths.store);
    const progress = new PullProgress(process.stderr, progressModeFor(process.stderr, this.jsonEnabled()));
    const client = new RegistryClient({ insecure: flags.insecure, onRetry: (e) => progress.retrying(e) });
    const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
    const cwd = process.cwd();
    const results: AddedWorker[] = [];
    try {
      for (const input of inputs) {
        const target = await resolveTarget(input, { apiUrl: process.env.III_API_URL, cwd });
        const name = assertWorkerName(flags.name ?? target.suggestedName);
        const existing = before?.worker(name);
        if (existing && !flags.force && !sameImage(existing.image, target.image, cwd)) {
          throw new WorkerExistsError(name, existing.image);
        }
        const installed = await pullWorkerImage(target.source, {
          client,
          store,
          rootfsDir: paths.rootfs,
          snapshotsDir: paths.snapshots,
          progress,
          image: target.image,
          ...(platform ? { platform } : {}),
          ...(flags.pull ? { pull: flags.pull } : {}),
        });
        if (installed.fromStore) note(fromStoreLine(target.image, installed.fromStore));
        for (const w of installed.warnings) this.warnLine(w);
        const recorded = await this.record(configPath, name, target, installed, store, flags.force, cwd);
        const result = installed.fromStore ? { ...recorded, fromStore: installed.fromStore } : recorded;
        results.push(result);
        this.report(result);
      }
    } finally {
      client.close();
    }
    for (const r of results) {
      if (r.action === 'added' || r.action === 'replaced') {
        const { name, image, digest, action } = r;
        await runIiiHook(this, 'iii:worker-added', { name, image, digest, action, configPath });
      }
    }
    const engine = await runningEngine(currentProject({ config: flags.config })).catch(() => undefined);
    const changed = results.filter((r) => r.action !== 'unchanged' || r.renamedFrom);
    if (engine && changed.length > 0) await this.applyToRunning(changed, flags.config, flags.wait, waitMs);
    await rememberUse(currentProject({ config: flags.config }));
    return { workers: results };
  }

  /**
   * `iii` runs: it starts the added workers (restarts a replaced one on its new image) at once, and
   * unless `--no-wait` this waits until each has connected to the engine and says how long it took.
   */
  private async applyToRunning(
    changed: AddedWorker[],
    config: string | undefined,
    wait: boolean,
    timeoutMs: number,
  ): Promise<void> {
    const started = Date.now();
    const { withEngine } = await import('../../lib/engine-call.js');
    await withEngine(
      async (client) => {
        const result = await client.reload(changed.map((r) => r.name));
        if (!result.applied) {
          for (const line of result.lines) this.warnLine(line);
          return;
        }
        for (const r of changed) {
          if (!wait) {
            note(
              `iii is running: worker "${r.name}" is starting (\`iii worker list\` shows when it has connected).`,
            );
            continue;
          }
          const w = await client.waitConnected(r.name, { timeoutMs, digest: r.digest });
          if (!w.connected) {
            note(
              w.status === 'disabled'
                ? `Worker "${r.name}" has enabled: false in config.yaml; iii does not start it.`
                : `Worker "${r.name}" was stopped with \`iii worker stop\`; start it with \`iii worker start ${r.name}\`.`,
            );
            continue;
          }
          const seconds = ((Date.now() - started) / 1000).toFixed(1);
          note(
            `Worker "${r.name}" ${r.action === 'replaced' ? 'restarted on the new image' : 'started'}${w.pid ? ` (pid ${w.pid})` : ''} and connected to the engine in ${seconds}s.`,
          );
        }
      },
      undefined,
      currentProject({ config }),
      timeoutMs + 30_000,
    ).catch((err: unknown) => {
      // The entry is written: a record of a running iii whose engine does not answer (it is stopping,
      // or hung) only means the worker cannot be started now. Say so; the add itself succeeded.
      if ((err as { code?: unknown }).code !== 'ENGINE_NOT_RUNNING') throw err;
      const names = changed.map((r) => r.name).join(', ');
      this.warnLine(
        `could not reach the running iii to start ${names} (${(err as Error).message}): it starts with the next \`iii\`, or run \`iii reload\` once iii answers`,
      );
    });
  }

  /** Writes the entry and the pin under the config lock, deciding again with the file as it is now. */
  private async record(
    configPath: string,
    name: string,
    target: ImageTarget,
    installed: InstalledImage,
    store: ImageStore,
    force: boolean,
    cwd: string,
  ): Promise<AddedWorker> {
    const base = {
      name,
      image: target.image,
      digest: installed.digest,
      ...(installed.index ? { index: installed.index } : {}),
      platform: installed.platform,
      rootfs: installed.rootfs,
    };
    return editConfig<AddedWorker>(
      configPath,
      async ({ doc, lock }) => {
        // Only a replacement merges against the old image's defaults; read them only when one can happen.
        const previousDefaults = force
          ? await storedImageDefaults(store, lock.workers[name]?.digest)
          : undefined;
        // A worker renamed by hand keeps the pin of its old name, never what the tag points to now.
        const carried = carryOverRenamedPins(lock, doc.workers);
        const renamedFrom = carried.renamed.find((r) => r.to === name)?.from;
        const upsert = upsertWorkerImage({
          doc,
          lock: renamedFrom ? renamePin(lock, renamedFrom, name) : lock,
          name,
          image: target.image,
          pin: {
            digest: installed.digest,
            ...(installed.index ? { index: installed.index } : {}),
            platform: installed.platform,
          },
          defaults: installed.defaults,
          resources: installed.resources,
          force,
          previousDefaults,
          sameImage: (a, b) => sameImage(a, b, cwd),
        });
        const result: AddedWorker = {
          ...base,
          ...upsert.result,
          ...(renamedFrom ? { renamedFrom } : {}),
        };
        return { doc: upsert.doc, lock: upsert.lock, result };
      },
      { create: true },
    );
  }

  private report(r: AddedWorker): void {
    const short = `${r.digest.slice(0, 19)}… ${r.platform}`;
    if (r.action === 'added') note(`Added worker "${r.name}" (${r.image}, ${short}).`);
    if (r.action === 'replaced') note(`Replaced the image of worker "${r.name}" (${r.image}, ${short}).`);
    if (r.action === 'pinned') {
      note(
        `Pinned worker "${r.name}" to ${short} in iii.lock (config.yaml already had it, with ${r.image}).`,
      );
    }
    if (r.renamedFrom) {
      // iii.lock changed: never "nothing changed".
      const moved = r.lockedDigest
        ? ` The tag now points to ${r.digest.slice(0, 19)}…; \`iii worker update ${r.name}\` moves to it.`
        : '';
      note(
        `Worker "${r.name}" keeps the pin of "${r.renamedFrom}" (renamed in config.yaml): ${(r.lockedDigest ?? r.digest).slice(0, 19)}….${moved}`,
      );
      return;
    }
    if (r.action === 'unchanged') {
      if (r.lockedDigest) {
        note(
          `Worker "${r.name}" already uses ${r.image}; the tag now points to ${r.digest.slice(0, 19)}… but iii.lock keeps ${r.lockedDigest.slice(0, 19)}…. Run \`iii worker update ${r.name}\` to move.`,
        );
      } else note(`Worker "${r.name}" already uses ${r.image}; nothing changed.`);
    }
  }

  private warnLine(text: string): void {
    process.stderr.write(`Warning: ${text}\n`);
  }
}
