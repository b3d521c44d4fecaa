import type { WorkerInfo } from '@iii/engine/client';
import { BaseCommand } from '../../base-command.js';
import { graceMs, withEngine } from '../../lib/engine-call.js';
import { currentProject } from '../../lib/project.js';
import { configFlag, engineUrlFlag, graceTimeoutFlag, workerNameArg } from '../../lib/worker-flags.js';

export default class WorkerRestart extends BaseCommand {
  static override summary = 'Restart a worker of the running iii.';
  static override description =
    'Stops the worker (SIGTERM, then SIGKILL after the grace period) and starts it again from the cached image. Needs a running `iii`.';
  static override examples = [
    '<%= config.bin %> worker restart image-resize',
    {
      description: 'Act on the engine of another machine, as its owner',
      command:
        'III_TOKEN=<token> <%= config.bin %> worker restart image-resize --engine-url ws://10.0.0.5:49134',
    },
    '<%= config.bin %> worker restart image-resize --timeout 3s',
  ];
  static override enableJsonFlag = true;
  static override args = { name: workerNameArg };
  static override flags = { timeout: graceTimeoutFlag, config: configFlag, 'engine-url': engineUrlFlag };

  async run(): Promise<{ worker: WorkerInfo }> {
    const { args, flags } = await this.parse(WorkerRestart);
    const timeoutMs = graceMs(flags.timeout);
    const worker = await withEngine(
      (client) => client.restart(args.name, timeoutMs),
      flags['engine-url'],
      currentProject({ config: flags.config }),
    );
    this.logToStderr(`Restarted ${worker.name}${worker.pid ? ` (pid ${worker.pid})` : ''}.`);
    return { worker };
  }
}
