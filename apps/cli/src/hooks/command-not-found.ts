import type { Hook } from '@oclif/core';
import { suggestCommand } from '../lib/command-suggestion.js';
import { usageLine } from '../lib/usage-line.js';

/**
 * A mistyped command prints what the user probably meant and exits 2, on a terminal or not, as git,
 * gh and kubectl do. It never runs the suggestion: the arguments were written for the command typed.
 * The words come from the process's own argv because oclif's id has joined every word (arguments
 * included) with `:`, which cannot be split back when an argument holds a `:` itself.
 */
export const hook: Hook.CommandNotFound = async function (opts) {
  const bin = opts.config.bin;
  const argv = process.argv.slice(2);
  const ids = [
    ...opts.config.commands.filter((c) => !c.hidden).map((c) => c.id),
    ...opts.config.topics.filter((t) => !t.hidden).map((t) => t.name),
  ];
  const found = suggestCommand(argv, ids) ?? {
    kind: 'unknown' as const,
    topic: [],
    unknown: argv[0] ?? opts.id,
  };
  const lines: string[] = [];
  if (found.kind === 'extra-arguments') {
    const command = [bin, ...found.command].join(' ');
    const s = found.args.length === 1 ? '' : 's';
    lines.push(`Error: unexpected argument${s} for "${command}": ${found.args.map(quoteForShell).join(' ')}`);
    const usage = usageLine(opts.config, found.command.join(':'));
    lines.push(usage ? `Usage: ${usage}` : `See \`${command} --help\`.`);
  } else {
    const where = [bin, ...found.topic].join(' ');
    lines.push(`Error: unknown command "${found.unknown}" for "${where}"`);
    lines.push(
      found.suggestion
        ? `Did you mean: ${[bin, ...found.suggestion.map(quoteForShell)].join(' ')}`
        : `Run \`${where} --help\` for the list of commands.`,
    );
  }
  process.stderr.write(`${lines.join('\n')}\n`);
  this.exit(2);
};

/** Shows an argument as a shell would need it typed, so the suggestion can be copied as it is. */
function quoteForShell(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

export default hook;
