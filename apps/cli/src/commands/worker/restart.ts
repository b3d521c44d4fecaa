import type { WorkerInfo } from '@iii/engine';
import { BaseCommand } from '../../base-command.js';
import { graceMs, withEngine } from '../../lib/engine-call.js';
import { graceTimeoutFlag, workerNameArg } from '../../lib/worker-flags.js';

export default class WorkerRestart extends BaseCommand {
  static override summary = 'Restart a worker of the running iii.';
  static override description =
    'Stops the worker (SIGTERM, then SIGKILL after the grace period) and starts it again from the cached image. Needs a running `iii`.';
  static override examples = [
    '<%= config.bin %> worker restart image-resize',
    '<%= config.bin %> worker restart image-resize --timeout 3s',
  ];
  static override enableJsonFlag = true;
  static override args = { name: workerNameArg };
  static override flags = { timeout: graceTimeoutFlag };

  async run(): Promise<{ worker: WorkerInfo }> {
    const { args, flags } = await this.parse(WorkerRestart);
    const timeoutMs = graceMs(flags.timeout);
    const worker = await withEngine((client) => client.restart(args.name, timeoutMs));
    this.logToStderr(`Restarted ${worker.name}${worker.pid ? ` (pid ${worker.pid})` : ''}.`);
    return { worker };
  }
}
