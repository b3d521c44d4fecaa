import { type CleanupReport, cleanupOrphanedWorkers } from '@iii/engine';
import { BaseCommand } from '../../base-command.js';
import { currentProject } from '../../lib/project.js';
import { configFlag } from '../../lib/worker-flags.js';

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

export default class SystemCleanup extends BaseCommand {
  static override summary =
    'Remove what an iii that crashed or was killed left behind, without starting anything.';
  static override description =
    "When `iii` dies, its watchdog stops its workers within seconds. If the watchdog was killed too (kill -9 of both), sandboxes may keep running, and containers, mounted overlays and cgroups stay behind. This stops and removes all of them for the project of config.yaml (--config, $III_CONFIG_PATH or ./config.yaml): the containers and their processes, the mounted overlays, the cgroups and pid files. Logs, images and config stay, and no worker is started (the next `iii` would clean up too, but it starts every worker as it does). The sandboxes of other projects, running or not, are left alone. Refuses while the project's `iii` runs: it stops its own workers.";
  static override examples = ['<%= config.bin %> system cleanup', '<%= config.bin %> system cleanup --json'];
  static override enableJsonFlag = true;
  static override flags = { config: configFlag };

  async run(): Promise<CleanupReport> {
    const { flags } = await this.parse(this.constructor as typeof SystemCleanup);
    const project = currentProject({ config: flags.config });
    const report = await cleanupOrphanedWorkers(project);
    const n = report.containers.length;
    const m = report.mounts.length;
    const c = report.cgroups.length;
    this.logToStderr(
      n + m + c === 0
        ? `Nothing to clean up: no sandbox of ${project.configPath} is left.`
        : `Stopped and removed ${plural(n, 'sandbox', 'sandboxes')}; unmounted ${plural(m, 'overlay')}; removed ${plural(c, 'cgroup')}.`,
    );
    return report;
  }
}
