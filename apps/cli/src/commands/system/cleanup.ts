import { iiiPaths } from '@iii/config';
import { type CleanupReport, cleanupOrphanedWorkers } from '@iii/engine';
import { BaseCommand } from '../../base-command.js';

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

export default class SystemCleanup extends BaseCommand {
  static override summary =
    'Remove what an iii that crashed or was killed left behind, without starting anything.';
  static override description =
    'When `iii` dies, its watchdog stops its workers within seconds. If the watchdog was killed too (kill -9 of both), sandboxes may keep running, and containers, mounted overlays and cgroups stay behind. This stops and removes all of them for this $III_HOME: the containers and their processes, the mounted overlays, the cgroups and pid files. Logs, images and config stay, and no worker is started (the next `iii` would clean up too, but it starts every worker as it does). Refuses while `iii` runs: it stops its own workers.';
  static override examples = ['<%= config.bin %> system cleanup', '<%= config.bin %> system cleanup --json'];
  static override enableJsonFlag = true;

  async run(): Promise<CleanupReport> {
    await this.parse(this.constructor as typeof SystemCleanup);
    const report = await cleanupOrphanedWorkers(iiiPaths().home);
    const n = report.containers.length;
    const m = report.mounts.length;
    const c = report.cgroups.length;
    this.logToStderr(
      n + m + c === 0
        ? 'Nothing to clean up: no sandbox of this $III_HOME is left.'
        : `Stopped and removed ${plural(n, 'sandbox', 'sandboxes')}; unmounted ${plural(m, 'overlay')}; removed ${plural(c, 'cgroup')}.`,
    );
    return report;
  }
}
