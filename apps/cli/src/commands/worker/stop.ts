import type { WorkerInfo } from '@iii/engine/client';
import { BaseCommand } from '../../base-command.js';
import { graceMs, withEngine } from '../../lib/engine-call.js';
import { currentProject } from '../../lib/project.js';
import { configFlag, engineUrlFlag, graceTimeoutFlag, workerNameArg } from '../../lib/worker-flags.js';

export default class WorkerStop extends BaseCommand {
  static override summary = 'Stop a worker of the running iii.';
  static override description =
    'Sends SIGTERM, then SIGKILL when the worker has not exited after the grace period. The worker stays stopped (no automatic restart), also when `iii` is started again, until `iii worker start` (like the unless-stopped policy of Docker); `iii worker list` shows it as `stopped (until `iii worker start`)`. Needs a running `iii`.';
  static override examples = [
    '<%= config.bin %> worker stop image-resize',
    {
      description: 'Act on the engine of another machine, as its owner',
      command:
        'III_TOKEN=<token> <%= config.bin %> worker stop image-resize --engine-url ws://10.0.0.5:49134',
    },
    '<%= config.bin %> worker stop image-resize --timeout 30s',
  ];
  static override enableJsonFlag = true;
  static override args = { name: workerNameArg };
  static override flags = { timeout: graceTimeoutFlag, config: configFlag, 'engine-url': engineUrlFlag };

  async run(): Promise<{ worker: WorkerInfo }> {
    const { args, flags } = await this.parse(WorkerStop);
    const timeoutMs = graceMs(flags.timeout);
    const worker = await withEngine(
      (client) => client.stop(args.name, timeoutMs),
      flags['engine-url'],
      currentProject({ config: flags.config }),
    );
    this.logToStderr(`Stopped ${worker.name}.`);
    return { worker };
  }
}
