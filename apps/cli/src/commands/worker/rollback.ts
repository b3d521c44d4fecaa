import {
  editConfig,
  iiiPaths,
  loadConfig,
  pinWorker,
  resolveConfigPath,
  WorkerNotFoundError,
} from '@iii/config';
import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { note } from '../../lib/note.js';
import { currentProject } from '../../lib/project.js';
import { runningEngine } from '../../lib/running-engine.js';
import { configFlag } from '../../lib/worker-flags.js';

interface RollbackResult {
  name: string;
  image: string;
  /** The digest pinned before (now the previous one, so a second rollback undoes the first). */
  from: string;
  /** The digest pinned now. */
  to: string;
}

class RollbackError extends Error {
  readonly code: string;
  readonly hint: string;
  constructor(code: string, message: string, hint: string) {
    super(message);
    this.code = code;
    this.hint = hint;
  }
}

export default class WorkerRollback extends BaseCommand {
  static override summary = 'Pin a worker back to the image it had before its last update.';
  static override description =
    "iii.lock remembers each worker's previous digest (the one `update`, `add --force` or a rollback replaced). This pins it again, from the local store: no registry is contacted, so it works offline, and config.yaml keeps its image reference (the tag) as it is. The digest it replaces becomes the previous one, so a second rollback undoes the first. A running worker switches at once while `iii` watches config.yaml (else on `iii reload` or `iii worker restart <name>`).";
  static override examples = ['<%= config.bin %> worker rollback image-resize'];
  static override enableJsonFlag = true;
  static override args = { name: Args.string({ description: 'Worker name.', required: true }) };
  static override flags = { config: configFlag };

  async run(): Promise<RollbackResult> {
    const { args, flags } = await this.parse(WorkerRollback);
    const name = args.name;
    const configPath = resolveConfigPath({ flag: flags.config });
    const { doc, lock } = await loadConfig(configPath);
    const entry = doc.worker(name);
    if (!entry) throw new WorkerNotFoundError(name, configPath);
    const pin = lock.workers[name];
    if (!pin || pin.image !== entry.image) {
      throw new RollbackError(
        'NOT_PINNED',
        `worker "${name}" is not pinned to ${entry.image} in iii.lock`,
        `Pin it with \`iii worker update ${name}\` first.`,
      );
    }
    const previous = pin.previous;
    if (!previous) {
      throw new RollbackError(
        'NO_PREVIOUS_DIGEST',
        `iii.lock has no previous digest for worker "${name}": it was never moved to another image`,
        'A rollback goes back over an `iii worker update`, `add --force` or rollback.',
      );
    }
    const paths = iiiPaths();
    const { loadWorkerImage } = await import('@iii/workers');
    // Offline: the image must still be in the store (unpacked again if its rootfs was pruned).
    await loadWorkerImage(paths, name, previous.digest).catch(() => {
      throw new RollbackError(
        'PREVIOUS_NOT_CACHED',
        `the previous image of worker "${name}" (${previous.digest}) is no longer in the local store`,
        `It was pruned. Pin it from the registry with \`iii worker add ${entry.image.replace(/@.*$/, '')}@${previous.digest} --name ${name} --force\`.`,
      );
    });
    await editConfig(configPath, ({ lock: current }) => {
      const now = current.workers[name];
      if (!now || now.digest !== pin.digest) {
        throw new RollbackError(
          'LOCK_CHANGED',
          `iii.lock changed for worker "${name}" while rolling back`,
          'Run the command again.',
        );
      }
      return {
        lock: pinWorker(current, name, {
          image: now.image,
          digest: previous.digest,
          ...(previous.index ? { index: previous.index } : {}),
          platform: previous.platform,
        }),
        result: undefined,
      };
    });
    note(
      `Rolled back worker "${name}": ${pin.digest.slice(0, 19)}… → ${previous.digest.slice(0, 19)}… (config.yaml keeps ${entry.image}; \`iii worker rollback ${name}\` again undoes it).`,
    );
    if (await runningEngine(currentProject({ config: flags.config })).catch(() => undefined)) {
      note(
        `iii is running: it restarts the worker on that image now, unless it runs with --no-watch; then switch with \`iii reload\` or \`iii worker restart ${name}\`.`,
      );
    }
    return { name, image: entry.image, from: pin.digest, to: previous.digest };
  }
}
