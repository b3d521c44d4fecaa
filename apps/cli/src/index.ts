// The API of @iii/cli for plugin authors (see docs/plugins.md). Everything else is internal.
export { type BaseArgs, BaseCommand, type BaseFlags } from './base-command.js';
export { findConfig, findRunningEngine, type IiiArgs, IiiCommand, type IiiFlags } from './iii-command.js';
export {
  type IiiHook,
  type IiiHookName,
  type IiiHooks,
  runIiiHook,
  type WorkerAddedEvent,
  type WorkerRemovedEvent,
  type WorkersStartedEvent,
  type WorkersStartingEvent,
} from './iii-hooks.js';
export type { RunningEngine } from './lib/running-engine.js';
