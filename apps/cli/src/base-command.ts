import { onConfigWarning } from '@iii/config';
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { renderError } from './lib/render-error.js';
import { usageLine } from './lib/usage-line.js';

/** The parsed flags of a {@link BaseCommand} subclass `T`: its own and the base flags. */
export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>;
/** The parsed arguments of a {@link BaseCommand} subclass `T`. */
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/**
 * Every `iii` command extends this: it owns the one place where errors become the two lines users see
 * (`Error: <what>` and what to do about it) and the exit codes (1 failure, 2 usage).
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    debug: Flags.boolean({
      description: 'Show stack traces and internal details when something fails.',
      helpGroup: 'GLOBAL',
      default: false,
    }),
  };

  public override async init(): Promise<void> {
    await super.init();
    // Whatever reads config.yaml (this command, the engine in this process) reports its unknown keys,
    // each once, with file:line:column.
    const shown = new Set<string>();
    onConfigWarning(({ message }) => {
      if (shown.has(message)) return;
      shown.add(message);
      process.stderr.write(`Warning: ${message}\n`);
    });
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    // oclif's own exit (from this.exit()) is not an error to render.
    if (err instanceof Errors.ExitError) throw err;
    const debug = this.argv.includes('--debug') || process.env.III_DEBUG === '1';
    const usage = this.id ? usageLine(this.config, this.id) : undefined;
    const rendered = renderError(err, { debug, usage });
    process.exitCode = rendered.exitCode;
    if (this.jsonEnabled()) {
      this.logJson({ error: { code: rendered.code, message: rendered.message, hint: rendered.hint } });
    }
    process.stderr.write(rendered.text);
    return undefined;
  }
}
