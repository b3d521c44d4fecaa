import { loadConfig } from '@iii/config';
import { escapeControlCharacters, parseSince, workerHasStarted, workerLogs } from '@iii/engine';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { note } from '../../lib/note.js';
import { currentProject } from '../../lib/project.js';
import { usageError } from '../../lib/usage-error.js';
import { configFlag } from '../../lib/worker-flags.js';

export default class WorkerLogs extends BaseCommand {
  static override summary = "Print a worker's output.";
  static override description =
    'Prints what the worker wrote on stdout and stderr (kept apart on ours), in the order it was written, plus the lines it logged through the SDK Logger. Works whether or not the worker or `iii` runs. With --follow, keeps printing new lines across restarts and log rotation until Ctrl-C. On a terminal, control characters in the output (escape sequences that could retitle or clear your terminal) are shown escaped as \\xNN, as journalctl does; --raw prints them as they are. Piped or redirected output is never changed.';
  static override examples = [
    '<%= config.bin %> worker logs image-resize',
    '<%= config.bin %> worker logs image-resize -f',
    '<%= config.bin %> worker logs image-resize -n 20 --timestamps',
    '<%= config.bin %> worker logs image-resize --since 10m',
    '<%= config.bin %> worker logs image-resize -n all',
    '<%= config.bin %> worker logs image-resize --since 2026-01-02T15:04:05Z',
    '<%= config.bin %> worker logs image-resize --raw',
  ];
  static override args = {
    name: Args.string({ description: 'Worker name, as in config.yaml.', required: true }),
  };
  static override flags = {
    follow: Flags.boolean({
      char: 'f',
      description: 'Keep printing new lines until Ctrl-C.',
      default: false,
    }),
    tail: Flags.string({
      char: 'n',
      description:
        'Print only the last N lines, or `all`. Default: 100, or every line of the window with --since.',
    }),
    since: Flags.string({
      description: 'Only lines since a time: a duration back from now (10m, 1h) or RFC 3339.',
    }),
    timestamps: Flags.boolean({
      description: 'Prefix each line with the time it was captured.',
      default: false,
    }),
    raw: Flags.boolean({
      description: 'Print control characters as they are, also on a terminal (default there: escaped).',
      default: false,
    }),
    config: configFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(WorkerLogs);
    let since: Date | undefined;
    try {
      since = flags.since === undefined ? undefined : parseSince(flags.since);
    } catch (err) {
      throw usageError(err);
    }
    let tail: number | undefined;
    try {
      tail = parseTail(flags.tail, since !== undefined);
    } catch (err) {
      throw usageError(err);
    }
    // The logs of this project's worker of that name: another project may have one of the same name.
    const project = currentProject({ config: flags.config });
    const known = await loadConfig(project.configPath)
      .then((s) => s.doc.worker(args.name) !== undefined)
      .catch(() => undefined);
    // Printing nothing would look like a worker that runs silently; say it never ran.
    if (known && !(await workerHasStarted(project, args.name))) {
      note(
        flags.follow
          ? `Worker "${args.name}" has not started yet; waiting for its output (Ctrl-C to stop).`
          : `Worker "${args.name}" has not started yet, so it has no output. Start it with \`iii\` (or \`iii worker start ${args.name}\` while iii runs).`,
      );
      if (!flags.follow) return;
    }
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const lines = await workerLogs(project, args.name, {
        ...(tail === undefined ? {} : { tail }),
        follow: flags.follow,
        signal: controller.signal,
        ...(known === undefined ? {} : { known }),
        ...(since ? { since } : {}),
      });
      for await (const l of lines) {
        const out = l.stream === 'stderr' ? process.stderr : process.stdout;
        // A worker's bytes must not drive the user's terminal; files and pipes get them unchanged.
        const line = out.isTTY && !flags.raw ? escapeControlCharacters(l.line) : l.line;
        const text = `${flags.timestamps ? `${l.time} ` : ''}${line}${l.partial ? '' : '\n'}`;
        // Respect back-pressure so a large log piped into `head` or a file is not buffered whole.
        if (!out.write(text)) await new Promise((r) => out.once('drain', r));
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

/** `-n`: a count, or `all`; without it 100 lines, or all of them when a window (--since) is given. */
function parseTail(value: string | undefined, windowed: boolean): number | undefined {
  if (value === undefined) return windowed ? undefined : 100;
  if (value === 'all') return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`-n expects a number of lines or "all", not "${value}"`);
  return Number(value);
}
