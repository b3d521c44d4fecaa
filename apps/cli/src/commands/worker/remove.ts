import {
  editConfig,
  formatBytes,
  iiiPaths,
  loadConfig,
  resolveConfigPath,
  unpinWorker,
  WorkerNotFoundError,
} from '@iii/config';
import { ImageStore } from '@iii/oci';
import { lockedDigests, prunePlan } from '@iii/workers';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { runIiiHook } from '../../iii-hooks.js';
import { confirm } from '../../lib/confirm.js';
import { graceMs } from '../../lib/engine-call.js';
import { note } from '../../lib/note.js';
import { currentProject, rememberUse } from '../../lib/project.js';
import { keptByPrune } from '../../lib/prune-keep.js';
import { runningEngine } from '../../lib/running-engine.js';
import { configFlag, graceTimeoutFlag, yesFlag } from '../../lib/worker-flags.js';

interface RemoveResult {
  removed: string[];
  /** Bytes of cached images no remaining worker uses (what `iii worker prune` frees). */
  reclaimable: number;
}

export default class WorkerRemove extends BaseCommand {
  static override summary = 'Remove workers from config.yaml and iii.lock.';
  static override description =
    'Deletes the worker entries and their pins. Workers that the running `iii` runs are stopped first, in whatever state they are (starting, running, or waiting to restart after a crash), all at once (SIGTERM, then SIGKILL after --timeout), each reported as it stops. Their sandbox directories and logs are deleted too (--keep-logs keeps the logs), so a worker added again under the same name starts with logs of its own. Cached image layers stay on disk so adding the worker again is instant; the command says how much space `iii worker prune` would free. Asks for confirmation on a terminal; elsewhere -y is required.';
  static override examples = [
    '<%= config.bin %> worker remove image-resize',
    '<%= config.bin %> worker remove ocr image-resize -y',
    '<%= config.bin %> worker remove ocr image-resize -y --timeout 3s',
  ];
  static override aliases = ['worker:rm'];
  static override strict = false;
  static override enableJsonFlag = true;
  static override args = {
    name: Args.string({ description: 'Worker name; several may be given.', required: true }),
  };
  static override flags = {
    yes: yesFlag,
    config: configFlag,
    timeout: graceTimeoutFlag,
    'keep-logs': Flags.boolean({
      description: "Keep the workers' log files (the rest of their sandbox directories is removed).",
      default: false,
    }),
  };

  async run(): Promise<RemoveResult> {
    const { argv, flags } = await this.parse(WorkerRemove);
    const names = [...new Set(argv as string[])];
    const timeoutMs = graceMs(flags.timeout);
    const configPath = resolveConfigPath({ flag: flags.config });
    const { doc, lock: pinned } = await loadConfig(configPath);
    await rememberUse(currentProject({ config: flags.config }));
    // A worker commented out or deleted in config.yaml by hand still has its pin to remove.
    for (const name of names)
      if (!doc.worker(name) && !pinned.workers[name]) throw new WorkerNotFoundError(name, configPath);
    if (!flags.yes) {
      const list = names.map((n) => `"${n}"`).join(', ');
      const ok = await confirm(
        `Remove worker${names.length > 1 ? 's' : ''} ${list} from ${configPath}?`,
        'remove workers',
      );
      if (!ok) {
        note('Nothing removed.');
        return { removed: [], reclaimable: 0 };
      }
    }
    // Running workers are stopped first, so nothing keeps running that config.yaml no longer names.
    // Only this project's `iii`: another project's worker of the same name is not this one.
    const project = currentProject({ config: flags.config });
    if (await runningEngine(project)) {
      const { stopRunningWorkers } = await import('@iii/engine/client');
      await stopRunningWorkers({
        project,
        names,
        timeoutMs,
        onStopping: (running) =>
          note(
            `Stopping ${running.map((n) => `"${n}"`).join(', ')} (SIGKILL after ${flags.timeout} for any still running)...`,
          ),
        onStopped: ({ name, remaining, error }) => {
          const waiting =
            remaining.length > 0 ? `; waiting for ${remaining.map((n) => `"${n}"`).join(', ')}` : '';
          note(
            `${error ? `Could not stop worker "${name}": ${error.message}` : `Stopped worker "${name}"`}${waiting}.`,
          );
        },
      });
    }
    const lock = await editConfig(configPath, ({ doc: current, lock: pins }) => {
      let next = current;
      let nextLock = pins;
      for (const name of names) {
        if (next.worker(name)) next = next.withoutWorker(name);
        nextLock = unpinWorker(nextLock, name);
      }
      return { doc: next, lock: nextLock, result: nextLock };
    });
    const { removeWorkerFiles } = await import('@iii/engine');
    for (const name of names) {
      await removeWorkerFiles(project, name, { keepLogs: flags['keep-logs'] });
      note(`Removed worker "${name}"${flags['keep-logs'] ? ' (its logs are kept)' : ''}.`);
    }
    for (const name of names) await runIiiHook(this, 'iii:worker-removed', { name, configPath });
    // Counted as prune counts it: what other projects pin or running workers use is not freed.
    const paths = iiiPaths();
    const { keep, rootfsInUse } = await keptByPrune(paths.home);
    const plan = await prunePlan({
      paths: { ...paths, sandbox: project.sandbox },
      store: new ImageStore(paths.store),
      keep: [...lockedDigests(lock), ...keep],
      configured: new Set(Object.keys(lock.workers)),
      ...(rootfsInUse ? { rootfsInUse } : {}),
    });
    const bytes = plan.cache.bytes;
    if (bytes > 0) {
      note(
        `${formatBytes(bytes)} of cached images are no longer used by any worker; \`iii worker prune\` frees it.`,
      );
    }
    return { removed: names, reclaimable: bytes };
  }
}
