import type { WorkerInfo } from '@iii/engine';
import { BaseCommand } from '../../base-command.js';
import { withEngine } from '../../lib/engine-call.js';
import { engineUrlFlag, workerNameArg } from '../../lib/worker-flags.js';

export default class WorkerStart extends BaseCommand {
  static override summary = 'Start a worker of the running iii.';
  static override description =
    'Starts a stopped worker, or one added to config.yaml after `iii` began. It runs the image pinned in iii.lock from the local cache: nothing is pulled. Needs a running `iii`.';
  static override examples = [
    '<%= config.bin %> worker start image-resize',
    {
      description: 'Act on the engine of another machine, as its owner',
      command:
        'III_TOKEN=<token> <%= config.bin %> worker start image-resize --engine-url ws://10.0.0.5:49134',
    },
  ];
  static override enableJsonFlag = true;
  static override args = { name: workerNameArg };
  static override flags = { 'engine-url': engineUrlFlag };

  async run(): Promise<{ worker: WorkerInfo }> {
    const { args, flags } = await this.parse(WorkerStart);
    const worker = await withEngine((client) => client.start(args.name), flags['engine-url']);
    this.logToStderr(`Started ${worker.name}${worker.pid ? ` (pid ${worker.pid})` : ''}.`);
    return { worker };
  }
}
