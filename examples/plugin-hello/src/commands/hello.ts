import { IiiCommand } from '@iii/cli';
import { Flags } from '@oclif/core';

/** `iii hello`: greets every worker of config.yaml and says whether iii runs. */
export default class Hello extends IiiCommand<typeof Hello> {
  static override summary = 'Greet every worker of config.yaml.';
  static override examples = ['<%= config.bin %> hello', '<%= config.bin %> hello --greeting Hi --json'];
  static override flags = {
    greeting: Flags.string({ description: 'What to say.', default: 'Hello' }),
  };

  async run(): Promise<{ configPath: string; workers: string[]; engine: string | null }> {
    // --config, $III_CONFIG_PATH or ./config.yaml, parsed and validated as iii's own commands do:
    // a missing or broken file ends the command with iii's error message and exit status.
    const { doc, configPath } = await this.readConfig();
    const workers = (doc.config.workers ?? []).map((w) => w.name);
    const engine = await this.runningEngine();
    for (const name of workers) this.log(`${this.flags.greeting}, ${name}!`);
    this.log(engine ? `iii is running at ${engine.address}` : 'iii is not running');
    // Printed as JSON instead of the lines above with --json.
    return { configPath, workers, engine: engine?.address ?? null };
  }
}
