import { type ConfigState, loadConfig, resolveConfigPath } from '@iii/config';
import type { Command, Interfaces } from '@oclif/core';
import { BaseCommand } from './base-command.js';
import { currentProject } from './lib/project.js';
import { type RunningEngine, runningEngine } from './lib/running-engine.js';
import { configFlag } from './lib/worker-flags.js';

/** The parsed flags of an {@link IiiCommand} subclass `T`: its own, the base flags and `--config`. */
export type IiiFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof IiiCommand)['baseFlags'] & T['flags']
>;
/** The parsed arguments of an {@link IiiCommand} subclass `T`. */
export type IiiArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/** Where config.yaml is: `flag` if given, else `$III_CONFIG_PATH`, else `./config.yaml` (as every command finds it). */
export function findConfig(flag?: string): string {
  return resolveConfigPath(flag ? { flag } : {});
}

/**
 * The `iii` running the project of `config` (default: the config.yaml every command would use, under
 * `$III_HOME`, default `~/.iii`): its pid, its address (`ws://...`) and the config.yaml it runs, or
 * `undefined` when none runs.
 */
export async function findRunningEngine(config?: string): Promise<RunningEngine | undefined> {
  return runningEngine(currentProject(config ? { config } : {}));
}

/**
 * The base class for plugin commands: iii's error rendering and exit codes (from BaseCommand), plus
 * `--config` / `-c`, `--json` and `--debug` like iii's own commands, parsed before `run()`:
 *
 * ```ts
 * export default class Hello extends IiiCommand<typeof Hello> {
 *   async run() {
 *     const { doc } = await this.readConfig();
 *     return { workers: (doc.config.workers ?? []).map((w) => w.name) };
 *   }
 * }
 * ```
 *
 * What `run()` returns is printed as JSON with `--json`; with `--json` an error becomes
 * `{"error": {"code", "message", "hint"}}` on stdout too.
 */
export abstract class IiiCommand<T extends typeof Command> extends BaseCommand {
  static override enableJsonFlag = true;
  static override baseFlags = { ...BaseCommand.baseFlags, config: configFlag };

  protected flags!: IiiFlags<T>;
  protected args!: IiiArgs<T>;

  public override async init(): Promise<void> {
    await super.init();
    const ctor = this.constructor as typeof IiiCommand & T;
    const { args, flags } = await this.parse({
      flags: ctor.flags,
      baseFlags: ctor.baseFlags,
      enableJsonFlag: ctor.enableJsonFlag,
      args: ctor.args,
      strict: ctor.strict,
    });
    this.flags = flags as IiiFlags<T>;
    this.args = args as IiiArgs<T>;
  }

  /** The config.yaml this command works on (`--config`, `$III_CONFIG_PATH`, `./config.yaml`). */
  protected configPath(): string {
    return findConfig(this.flags.config as string | undefined);
  }

  /** config.yaml and iii.lock, parsed and validated; fails with iii's own error when there is none. */
  protected async readConfig(): Promise<ConfigState> {
    return loadConfig(this.configPath());
  }

  /** The running `iii` of this `$III_HOME`, if any. */
  protected runningEngine(): Promise<RunningEngine | undefined> {
    return findRunningEngine(this.flags.config as string | undefined);
  }
}
