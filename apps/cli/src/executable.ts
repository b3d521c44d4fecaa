/**
 * The `iii` executable, bundled into one CommonJS file (`dist/cli/iii.cjs`) that `bin/run.js` compiles
 * with a V8 code cache (see code-cache.ts): every command it can run, the hooks, and `main`.
 *
 * oclif finds the commands here (`oclif.commands`, strategy `explicit`) and the hook by name
 * (`oclif.hooks`). Each command is a getter that requires the command's module the first time oclif
 * asks for it: bundled, a module reached only through `require()` is evaluated on that call, so
 * `iii worker list` still runs only worker list's code, as when each command was its own file.
 */
import type { Command, Hook } from '@oclif/core';

export { main } from './main.js';

type CommandModule = { default: Command.Class };

// One line per file of src/commands; the test of the manifest checks that none is missing.
const commandModules: Record<string, () => CommandModule> = {
  'export:compose': () => require('./commands/export/compose.js'),
  'export:kubernetes': () => require('./commands/export/kubernetes.js'),
  init: () => require('./commands/init.js'),
  ls: () => require('./commands/ls.js'),
  reload: () => require('./commands/reload.js'),
  start: () => require('./commands/start.js'),
  'system:check': () => require('./commands/system/check.js'),
  'system:cleanup': () => require('./commands/system/cleanup.js'),
  'system:df': () => require('./commands/system/df.js'),
  trigger: () => require('./commands/trigger.js'),
  version: () => require('./commands/version.js'),
  'worker:add': () => require('./commands/worker/add.js'),
  'worker:build': () => require('./commands/worker/build.js'),
  'worker:cleanup': () => require('./commands/worker/cleanup.js'),
  'worker:exec': () => require('./commands/worker/exec.js'),
  'worker:inspect': () => require('./commands/worker/inspect.js'),
  'worker:list': () => require('./commands/worker/list.js'),
  'worker:logs': () => require('./commands/worker/logs.js'),
  'worker:prune': () => require('./commands/worker/prune.js'),
  'worker:push': () => require('./commands/worker/push.js'),
  'worker:remove': () => require('./commands/worker/remove.js'),
  'worker:rename': () => require('./commands/worker/rename.js'),
  'worker:restart': () => require('./commands/worker/restart.js'),
  'worker:rollback': () => require('./commands/worker/rollback.js'),
  'worker:start': () => require('./commands/worker/start.js'),
  'worker:stop': () => require('./commands/worker/stop.js'),
  'worker:sync': () => require('./commands/worker/sync.js'),
  'worker:update': () => require('./commands/worker/update.js'),
  'worker:verify': () => require('./commands/worker/verify.js'),
};

/** Every command by id, each loaded when oclif first reads it. */
export const COMMANDS: Record<string, Command.Class> = {};
for (const [id, load] of Object.entries(commandModules)) {
  Object.defineProperty(COMMANDS, id, { enumerable: true, get: () => load().default });
}

/** The `command_not_found` hook: loaded only when a command is not found. */
export const commandNotFound: Hook.CommandNotFound = async function (opts) {
  const { hook } = require('./hooks/command-not-found.js') as { hook: Hook.CommandNotFound };
  return hook.call(this, opts);
};
