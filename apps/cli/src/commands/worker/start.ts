import type { StartOutcome } from '@iii/engine/client';
import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { eachName, type NameOutcome } from '../../lib/each-name.js';
import { withEngine } from '../../lib/engine-call.js';
import { currentProject } from '../../lib/project.js';
import { configFlag, engineUrlFlag } from '../../lib/worker-flags.js';

/** What `start` did, in a line: started, or already running (and whether a restart is due). */
function describe(outcome: StartOutcome): string {
  const w = outcome.worker;
  const pid = w.pid ? ` (pid ${w.pid})` : '';
  if (outcome.started) return `Started ${w.name}${pid}.`;
  const state = w.status === 'running' ? 'running' : `started (${w.status})`;
  let line = `Worker "${w.name}" is already ${state}${pid}; nothing to do.`;
  if (outcome.pinnedDigest) {
    line += `\nIt runs ${w.digest?.slice(0, 19) ?? 'an older image'}…, not the image iii.lock pins now (${outcome.pinnedDigest.slice(0, 19)}…): \`iii worker restart ${w.name}\` switches to it.`;
  }
  return line;
}

export default class WorkerStart extends BaseCommand {
  static override summary = 'Start a worker of the running iii.';
  static override description =
    'Starts a stopped worker, or one added to config.yaml after `iii` began. It runs the image pinned in iii.lock from the local cache: nothing is pulled. A worker that already runs is left as it is (exit 0), even if iii.lock now pins another image: `iii worker restart` switches. Several names are started at once, each reported on its own line; one that fails does not stop the others, and the exit code is then 1 (--json: `{results: [{name, error, started, worker}]}`). Needs a running `iii`.';
  static override examples = [
    '<%= config.bin %> worker start image-resize',
    '<%= config.bin %> worker start image-resize ocr',
    {
      description: 'Act on the engine of another machine, as its owner',
      command:
        'III_TOKEN=<token> <%= config.bin %> worker start image-resize --engine-url ws://10.0.0.5:49134',
    },
  ];
  static override enableJsonFlag = true;
  static override strict = false;
  static override args = {
    name: Args.string({
      description: 'Worker name, as in config.yaml; several may be given.',
      required: true,
    }),
  };
  static override flags = { config: configFlag, 'engine-url': engineUrlFlag };

  async run(): Promise<StartOutcome | { results: NameOutcome<StartOutcome>[] }> {
    const { argv, flags } = await this.parse(WorkerStart);
    const names = [...new Set(argv as string[])];
    return withEngine(
      async (client) => {
        if (names.length === 1) {
          const outcome = await client.start(names[0]!);
          this.logToStderr(describe(outcome));
          return outcome;
        }
        return { results: await eachName(names, (name) => client.start(name), describe) };
      },
      flags['engine-url'],
      currentProject({ config: flags.config }),
    );
  }
}
