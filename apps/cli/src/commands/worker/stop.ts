import { iiiPaths } from '@iii/config';
import { connectEngine, parseDuration, type WorkerInfo } from '@iii/engine';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { usageError } from '../../lib/usage-error.js';

export default class WorkerStop extends BaseCommand {
  static override summary = 'Stop a worker of the running iii.';
  static override description =
    'Sends SIGTERM, then SIGKILL when the worker has not exited after the grace period. The worker stays stopped (no automatic restart) until `iii worker start`. Needs a running `iii`.';
  static override examples = [
    '<%= config.bin %> worker stop image-resize',
    '<%= config.bin %> worker stop image-resize --timeout 30s',
  ];
  static override enableJsonFlag = true;
  static override args = {
    name: Args.string({ description: 'Worker name, as in config.yaml.', required: true }),
  };
  static override flags = {
    timeout: Flags.string({
      char: 't',
      description: 'Grace period between SIGTERM and SIGKILL (e.g. 10s, 1m, 500ms).',
      default: '10s',
    }),
  };

  async run(): Promise<{ worker: WorkerInfo }> {
    const { args, flags } = await this.parse(WorkerStop);
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(flags.timeout, '--timeout');
    } catch (err) {
      throw usageError(err);
    }
    const client = await connectEngine({ home: iiiPaths().home });
    try {
      const worker = await client.stop(args.name, timeoutMs);
      this.logToStderr(`Stopped ${worker.name}.`);
      return { worker };
    } finally {
      await client.close();
    }
  }
}
