import { iiiPaths } from '@iii/config';
import { connectEngine, parseDuration, type WorkerInfo } from '@iii/engine';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { usageError } from '../../lib/usage-error.js';

export default class WorkerRestart extends BaseCommand {
  static override summary = 'Restart a worker of the running iii.';
  static override description =
    'Stops the worker (SIGTERM, then SIGKILL after the grace period) and starts it again from the cached image. Needs a running `iii`.';
  static override examples = [
    '<%= config.bin %> worker restart image-resize',
    '<%= config.bin %> worker restart image-resize --timeout 3s',
  ];
  static override enableJsonFlag = true;
  static override args = {
    name: Args.string({ description: 'Worker name, as in config.yaml.', required: true }),
  };
  static override flags = {
    timeout: Flags.string({
      char: 't',
      description: 'Grace period between SIGTERM and SIGKILL when stopping (e.g. 10s, 1m, 500ms).',
      default: '10s',
    }),
  };

  async run(): Promise<{ worker: WorkerInfo }> {
    const { args, flags } = await this.parse(WorkerRestart);
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(flags.timeout, '--timeout');
    } catch (err) {
      throw usageError(err);
    }
    const client = await connectEngine({ home: iiiPaths().home });
    try {
      const worker = await client.restart(args.name, timeoutMs);
      this.logToStderr(`Restarted ${worker.name}${worker.pid ? ` (pid ${worker.pid})` : ''}.`);
      return { worker };
    } finally {
      await client.close();
    }
  }
}
