import type { WorkerInfo } from '@iii/engine/client';
import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { eachName, type NameOutcome } from '../../lib/each-name.js';
import { graceMs, withEngine } from '../../lib/engine-call.js';
import { currentProject } from '../../lib/project.js';
import { configFlag, engineUrlFlag, graceTimeoutFlag } from '../../lib/worker-flags.js';

export default class WorkerStop extends BaseCommand {
  static override summary = 'Stop a worker of the running iii.';
  static override description =
    'Sends SIGTERM, then SIGKILL when the worker has not exited after the grace period. The worker stays stopped (no automatic restart), also when `iii` is started again, until `iii worker start` (like the unless-stopped policy of Docker); `iii worker list` shows it as `stopped (until `iii worker start`)`. Several names are stopped at once, each reported on its own line; one that fails does not keep the others from stopping, and the exit code is then 1 (--json: `{results: [{name, error, worker}]}`). Needs a running `iii`.';
  static override examples = [
    '<%= config.bin %> worker stop image-resize',
    {
      description: 'Several at once; one that fails does not keep the others running (exit 1 then)',
      command: '<%= config.bin %> worker stop image-resize ocr',
    },
    {
      description: 'Act on the engine of another machine, as its owner',
      command:
        'III_TOKEN=<token> <%= config.bin %> worker stop image-resize --engine-url ws://10.0.0.5:49134',
    },
    '<%= config.bin %> worker stop image-resize --timeout 30s',
  ];
  static override enableJsonFlag = true;
  static override strict = false;
  static override args = {
    name: Args.string({
      description: 'Worker name, as in config.yaml; several may be given.',
      required: true,
    }),
  };
  static override flags = { timeout: graceTimeoutFlag, config: configFlag, 'engine-url': engineUrlFlag };

  async run(): Promise<{ worker: WorkerInfo } | { results: NameOutcome<{ worker: WorkerInfo }>[] }> {
    const { argv, flags } = await this.parse(WorkerStop);
    const names = [...new Set(argv as string[])];
    const timeoutMs = graceMs(flags.timeout);
    return withEngine(
      async (client) => {
        if (names.length === 1) {
          const worker = await client.stop(names[0]!, timeoutMs);
          this.logToStderr(`Stopped ${worker.name}.`);
          return { worker };
        }
        const results = await eachName(
          names,
          async (name) => ({ worker: await client.stop(name, timeoutMs) }),
          ({ worker }) => `Stopped ${worker.name}.`,
        );
        return { results };
      },
      flags['engine-url'],
      currentProject({ config: flags.config }),
    );
  }
}
