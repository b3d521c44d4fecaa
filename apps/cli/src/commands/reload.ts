import type { ReloadResult } from '@iii/engine/client';
import { BaseCommand } from '../base-command.js';
import { withEngine } from '../lib/engine-call.js';
import { currentProject } from '../lib/project.js';
import { configFlag, engineUrlFlag } from '../lib/worker-flags.js';

export default class Reload extends BaseCommand {
  static override summary = 'Apply config.yaml and iii.lock to the running workers now.';
  static override description =
    'The running `iii` compares each worker of config.yaml with what runs and changes only the workers whose planned run spec changed (image digest, environment after interpolation, argv, resources, restart policy, network): it starts added workers, stops removed ones, restarts changed ones, and changes memory and cpus of a running sandbox in place where the runtime can. A broken config.yaml (syntax, schema, an unset variable, an image not in the local store) changes nothing and is reported; nothing is ever pulled. `iii` does this by itself whenever config.yaml or iii.lock is saved unless it runs with --no-watch (or engine.watch: false); SIGHUP to `iii` does the same as this command.';
  static override examples = [
    '<%= config.bin %> reload',
    {
      description: 'The project of another directory',
      command: '<%= config.bin %> reload --config ../shop/config.yaml',
    },
  ];
  static override enableJsonFlag = true;
  static override flags = { config: configFlag, 'engine-url': engineUrlFlag };

  async run(): Promise<ReloadResult> {
    const { flags } = await this.parse(Reload);
    const result = await withEngine(
      (client) => client.reload(),
      flags['engine-url'],
      currentProject({ config: flags.config }),
    );
    if (!this.jsonEnabled()) {
      for (const line of result.lines) this.logToStderr(line);
      if (result.applied && result.lines.length === 0)
        this.logToStderr('Nothing to change: every worker runs as config.yaml says.');
    }
    // Not applied: nothing changed, which a script must be able to tell.
    if (!result.applied) process.exitCode = 1;
    return result;
  }
}
