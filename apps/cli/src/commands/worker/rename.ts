import { access, rename } from 'node:fs/promises';
import {
  assertWorkerName,
  editConfig,
  loadConfig,
  renamePin,
  resolveConfigPath,
  WorkerNotFoundError,
} from '@iii/config';
import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { note } from '../../lib/note.js';
import { currentProject } from '../../lib/project.js';
import { runningEngine } from '../../lib/running-engine.js';
import { usageError } from '../../lib/usage-error.js';
import { configFlag } from '../../lib/worker-flags.js';

interface RenameResult {
  from: string;
  to: string;
  /** The digest the worker keeps (null when it had no pin). */
  digest: string | null;
}

class RenameRefusedError extends Error {
  readonly code = 'RENAME_REFUSED';
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export default class WorkerRename extends BaseCommand {
  static override summary = 'Rename a worker, keeping its pinned image, logs and state.';
  static override description =
    'Renames the entry in config.yaml (its comments and values stay as they are), moves its pin in iii.lock to the new name (same digest: nothing is pulled and the tag is not looked up again), and moves its logs and state (for example a stop with `iii worker stop`). The worker must not be running: stop it first with `iii worker stop <old>`, then start it under its new name with `iii worker start <new>`.';
  static override examples = ['<%= config.bin %> worker rename app web'];
  static override enableJsonFlag = true;
  static override args = {
    old: Args.string({ description: 'Current name of the worker.', required: true }),
    new: Args.string({ description: 'New name.', required: true }),
  };
  static override flags = { config: configFlag };

  async run(): Promise<RenameResult> {
    const { args, flags } = await this.parse(WorkerRename);
    const from = args.old;
    const to = args.new;
    try {
      assertWorkerName(to);
    } catch (err) {
      throw usageError(err);
    }
    const configPath = resolveConfigPath({ flag: flags.config });
    const { doc, lock } = await loadConfig(configPath);
    if (!doc.worker(from)) throw new WorkerNotFoundError(from, configPath);
    if (from === to) throw usageError(new Error(`the worker is already called "${to}"`));
    if (doc.worker(to) || lock.workers[to]) {
      throw new RenameRefusedError(
        `a worker named "${to}" already exists in ${doc.worker(to) ? 'config.yaml' : 'iii.lock'}`,
        `Choose another name, or remove it first with \`iii worker remove ${to}\`.`,
      );
    }
    const project = currentProject({ config: flags.config });
    const engineApi = await import('@iii/engine');
    if (await runningEngine(project).catch(() => undefined)) {
      const live = await engineApi.runningWorkerDetails({ project, name: from });
      if (live && (live.pid !== undefined || ['starting', 'running', 'restarting'].includes(live.status))) {
        throw new RenameRefusedError(
          `worker "${from}" is ${live.status}`,
          `Stop it first with \`iii worker stop ${from}\`, rename it, then start it with \`iii worker start ${to}\`.`,
        );
      }
    }
    const oldDir = engineApi.workerDir(project, from);
    const newDir = engineApi.workerDir(project, to);
    if (await exists(newDir)) {
      throw new RenameRefusedError(
        `${newDir} already exists (the logs of an earlier worker "${to}")`,
        `Delete that directory, or choose another name.`,
      );
    }
    const digest = await editConfig(configPath, ({ doc: current, lock: pins }) => {
      const entry = current.worker(from);
      if (!entry) throw new WorkerNotFoundError(from, configPath);
      return {
        doc: current.withReplacedWorker(from, { ...entry, name: to }),
        lock: renamePin(pins, from, to),
        result: pins.workers[from]?.digest ?? null,
      };
    });
    if (await exists(oldDir)) await rename(oldDir, newDir);
    note(
      `Renamed worker "${from}" to "${to}"${digest ? ` (keeps ${digest.slice(0, 19)}…)` : ''}; its logs and state moved with it.`,
    );
    return { from, to, digest };
  }
}
