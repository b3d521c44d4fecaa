import { iiiPaths } from '@iii/config';
import { type CleanupReport, cleanupOrphanedWorkers } from '@iii/engine';
import { BaseCommand } from '../../base-command.js';

export default class WorkerCleanup extends BaseCommand {
  static override summary = 'Stop the sandboxes an iii that was killed left running.';
  static override description =
    'When `iii` dies, its watchdog stops its workers within seconds. If the watchdog was killed too, the sandboxes keep running: `iii worker list` shows them as `orphaned`. This stops them and removes their containers, mounted overlays and pid files (their logs stay). Starting `iii` does the same before it starts the workers again. Refuses while `iii` runs: it stops its own workers.';
  static override examples = ['<%= config.bin %> worker cleanup', '<%= config.bin %> worker cleanup --json'];
  static override enableJsonFlag = true;

  async run(): Promise<CleanupReport> {
    await this.parse(WorkerCleanup);
    const report = await cleanupOrphanedWorkers(iiiPaths().home);
    const n = report.containers.length;
    const m = report.mounts.length;
    this.logToStderr(
      n + m === 0
        ? 'Nothing to clean up: no sandbox of this $III_HOME is left.'
        : `Stopped and removed ${n} sandbox${n === 1 ? '' : 'es'}; unmounted ${m} overlay${m === 1 ? '' : 's'}.`,
    );
    return report;
  }
}
