import type { Command, Hook, Interfaces } from '@oclif/core';

// Types, not interfaces: oclif's hook options must be plain records.

/** After `iii worker add` wrote a worker to config.yaml (once per worker added or given a new image). */
export type WorkerAddedEvent = {
  name: string;
  /** The image as written in config.yaml. */
  image: string;
  /** The manifest digest pinned in iii.lock. */
  digest: string;
  /** `added`, or `replaced` when the worker existed with another image (`--force`). */
  action: 'added' | 'replaced';
  configPath: string;
};

/** After `iii worker remove` removed a worker from config.yaml (once per worker). */
export type WorkerRemovedEvent = {
  name: string;
  configPath: string;
};

/** Before `iii` starts the workers of config.yaml; the engine already listens at `address`. */
export type WorkersStartingEvent = {
  configPath: string;
  /** The engine's address, e.g. `ws://127.0.0.1:49134`. */
  address: string;
  /** The names of the workers it is about to start. */
  workers: string[];
};

/** After `iii` started the workers of config.yaml (each is then starting or running). */
export type WorkersStartedEvent = {
  configPath: string;
  address: string;
  workers: string[];
};

/**
 * The hooks `iii` runs, for plugins to declare in their package.json (`oclif.hooks`). Each hook gets
 * its event and oclif's `config` and `context`; what it returns is ignored. A hook that throws does
 * not stop the command: iii prints one warning line naming the plugin and goes on.
 */
export interface IiiHooks extends Interfaces.Hooks {
  'iii:worker-added': { options: WorkerAddedEvent; return: unknown };
  'iii:worker-removed': { options: WorkerRemovedEvent; return: unknown };
  'iii:workers-starting': { options: WorkersStartingEvent; return: unknown };
  'iii:workers-started': { options: WorkersStartedEvent; return: unknown };
}

/** The names of iii's own hooks. */
export type IiiHookName =
  | 'iii:worker-added'
  | 'iii:worker-removed'
  | 'iii:workers-starting'
  | 'iii:workers-started';

/** A typed hook: `const hook: IiiHook<'iii:worker-added'> = async function (event) { ... }`. */
export type IiiHook<K extends IiiHookName> = Hook<K, IiiHooks>;

/** Runs hook `event` of every installed plugin; a failing hook becomes one warning line on stderr. */
export async function runIiiHook<K extends IiiHookName>(
  command: Command,
  event: K,
  options: IiiHooks[K]['options'],
): Promise<void> {
  const result = await command.config.runHook(event, { ...options }, undefined, true);
  for (const failure of result.failures) {
    const message = failure.error instanceof Error ? failure.error.message : String(failure.error);
    process.stderr.write(`Warning: the ${event} hook of plugin ${failure.plugin.name} failed: ${message}\n`);
  }
}
