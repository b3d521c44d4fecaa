import { CommandHelp, type Interfaces, toConfiguredId } from '@oclif/core';
import { stripAnsi } from './strip-ansi.js';

/**
 * The one-line synopsis of a command (`iii worker logs NAME [-f] [-n <value>] ...`), as its help
 * shows it under USAGE, unwrapped: what a usage error prints below the reason.
 */
export function usageLine(config: Interfaces.Config, id: string): string | undefined {
  const command = config.findCommand(id);
  if (!command) return undefined;
  const help = new CommandHelp(command, config, {
    ...(config.pjson.oclif.helpOptions ?? {}),
    maxWidth: Number.MAX_SAFE_INTEGER,
    sections: ['usage'],
    stripAnsi: true,
  });
  const text = stripAnsi(help.generate());
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('$ '));
  // The template fills in the id as stored (`worker:add`); users type it with spaces.
  return line
    ?.slice(2)
    .replace(`${config.bin} ${command.id}`, `${config.bin} ${toConfiguredId(command.id, config)}`);
}
