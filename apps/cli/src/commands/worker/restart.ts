import type { WorkerInfo } from '@iii/engine/client';
import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { eachName, type NameOutcome } from '../../lib/each-name.js';
import { graceMs, withEngine } from '../../lib/engine-call.js';
import { currentProject } from '../../lib/project.js';
import { configFlag, engineUrlFlag, graceTimeoutFlag } from '../../lib/worker-flags.js';

export default class WorkerRestart extends BaseCommand {
  static override summary = 'Restart a worker of the running iii.';
  static override description =
    'Stops the worker (SIGTERM, then SIGKILL after the grace period) and starts it again from the cached image. Several names are restarted at once, each reported on its own line; one that fails does not stop the others, and the exit code is then 1 (--json: `{results: [{name, error, worker}]}`). Needs a running `iii`.';
  static override examples = [
    '<%= config.bin %> worker restart image-resize',
    '<%= config.bin %> worker restart image-resize ocr',
    {
      description: 'Act on the engine of another machine, as its owner',
      command:
        'III_TOKEN=<token> <%= config.bin %> worker restart image-resize --engine-url ws://10.0.0.5:49134',
    },
    '<%= config.bin %> worker restart image-resize --timeout 3s',
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
    const { argv, flags } = await this.parse(WorkerRestart);
    const names = [...new Set(argv as string[])];
    const timeoutMs = graceMs(flags.timeout);
    const done = (worker: WorkerInfo) =>
      `Restarted ${worker.name}${worker.pid ? ` (pid ${worker.pid})` : ''}.`;
    return withEngine(
      async (client) => {
        if (names.length === 1) {
          const worker = await client.restart(names[0]!, timeoutMs);
          this.logToStderr(done(worker));
          return { worker };
        }
        const results = await eachName(
          names,
          async (name) => ({ worker: await client.restart(name, timeoutMs) }),
          ({ worker }) => done(worker),
        );
        return { results };
      },
      flags['engine-url'],
      currentProject({ config: flags.config }),
    );
  }
}
