import { loadConfig } from '@iii/config';
import { escapeControlCharacters, type LogLine, parseSince, workerHasStarted, workerLogs } from '@iii/engine';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { note } from '../../lib/note.js';
import { currentProject } from '../../lib/project.js';
import { renderError } from '../../lib/render-error.js';
import { usageError } from '../../lib/usage-error.js';
import { configFlag } from '../../lib/worker-flags.js';

export default class WorkerLogs extends BaseCommand {
  static override summary = "Print a worker's output.";
  static override description =
    'Prints what the worker wrote on stdout and stderr (kept apart on ours), in the order it was written, plus the lines it logged through the SDK Logger. Works whether or not the worker or `iii` runs. With --follow, keeps printing new lines across restarts and log rotation until Ctrl-C. On a terminal, control characters in the output (escape sequences that could retitle or clear your terminal) are shown escaped as \\xNN, as journalctl does; --raw prints them as they are. Piped or redirected output is never changed. Of several workers, the lines are merged in the order they were written (with --follow, as they come), each prefixed with the name of its worker as `docker compose logs` does; one that cannot be read is reported in one line and the others are still shown (exit 1).';
  static override examples = [
    '<%= config.bin %> worker logs image-resize',
    '<%= config.bin %> worker logs image-resize -f',
    '<%= config.bin %> worker logs image-resize -n 20 --timestamps',
    '<%= config.bin %> worker logs image-resize --since 10m',
    '<%= config.bin %> worker logs image-resize --tail all',
    '<%= config.bin %> worker logs image-resize ocr -f',
    '<%= config.bin %> worker logs image-resize --since 2026-01-02T15:04:05Z',
    '<%= config.bin %> worker logs image-resize --raw',
  ];
  static override strict = false;
  static override args = {
    name: Args.string({
      description:
        'Worker name, as in config.yaml; several may be given (each line then starts with its name).',
      required: true,
    }),
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
        'Print only the last N lines (of each worker), or `all`. Default: 100, or every line of the window with --since. -n is --tail here as in `tail -n` and `docker logs -n`; in `worker add` and `init` it is --name.',
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
    const { argv, flags } = await this.parse(WorkerLogs);
    const names = [...new Set(argv as string[])];
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
    const configured = await loadConfig(project.configPath)
      .then((s) => s.doc)
      .catch(() => undefined);
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const sources: Source[] = [];
      for (const name of names) {
        const known = configured ? configured.worker(name) !== undefined : undefined;
        // Printing nothing would look like a worker that runs silently; say it never ran.
        if (known && !(await workerHasStarted(project, name))) {
          note(
            flags.follow
              ? `Worker "${name}" has not started yet; waiting for its output (Ctrl-C to stop).`
              : `Worker "${name}" has not started yet, so it has no output. Start it with \`iii\` (or \`iii worker start ${name}\` while iii runs).`,
          );
          if (!flags.follow) continue;
        }
        const opened = workerLogs(project, name, {
          ...(tail === undefined ? {} : { tail }),
          follow: flags.follow,
          signal: controller.signal,
          ...(known === undefined ? {} : { known }),
          ...(since ? { since } : {}),
        });
        if (names.length === 1) {
          sources.push({ name, lines: await opened });
          continue;
        }
        // Of several workers, one that cannot be read is one line; the others are still shown.
        try {
          sources.push({ name, lines: await opened });
        } catch (err) {
          process.stderr.write(`Error: ${renderError(err, { debug: false }).message}\n`);
          process.exitCode = 1;
        }
      }
      // Several workers: each line starts with its worker's name, as `docker compose logs` does.
      const width = Math.max(...names.map((n) => n.length));
      const prefix = (name: string) => (names.length > 1 ? `${name.padEnd(width)} | ` : '');
      const merged =
        sources.length === 1 ? sources[0]!.lines : flags.follow ? asTheyCome(sources) : inTimeOrder(sources);
      for await (const l of merged) {
        const name = 'name' in l ? (l.name as string) : sources[0]!.name;
        const out = l.stream === 'stderr' ? process.stderr : process.stdout;
        // A worker's bytes must not drive the user's terminal; files and pipes get them unchanged.
        const line = out.isTTY && !flags.raw ? escapeControlCharacters(l.line) : l.line;
        // With a prefix, a piece without its newline still ends the line: the next may be another's.
        const end = l.partial && names.length === 1 ? '' : '\n';
        const text = `${prefix(name)}${flags.timestamps ? `${l.time} ` : ''}${line}${end}`;
        // Respect back-pressure so a large log piped into `head` or a file is not buffered whole.
        if (!out.write(text)) await new Promise((r) => out.once('drain', r));
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

interface Source {
  name: string;
  lines: AsyncGenerator<LogLine>;
}

/** The lines of several workers merged by the time they were captured (each source is in order). */
async function* inTimeOrder(sources: Source[]): AsyncGenerator<LogLine & { name: string }> {
  const heads = await Promise.all(sources.map(async (s) => ({ s, next: await s.lines.next() })));
  for (;;) {
    let first: (typeof heads)[number] | undefined;
    for (const h of heads) {
      if (h.next.done) continue;
      if (!first || h.next.value.time < (first.next.value as LogLine).time) first = h;
    }
    if (!first) return;
    yield { ...(first.next.value as LogLine), name: first.s.name };
    first.next = await first.s.lines.next();
  }
}

/** The lines of several followed workers, each as soon as it is read. */
async function* asTheyCome(sources: Source[]): AsyncGenerator<LogLine & { name: string }> {
  const pending = new Map(sources.map((s) => [s, s.lines.next().then((next) => ({ s, next }))] as const));
  while (pending.size > 0) {
    const { s, next } = await Promise.race(pending.values());
    if (next.done) {
      pending.delete(s);
      continue;
    }
    pending.set(
      s,
      s.lines.next().then((n) => ({ s, next: n })),
    );
    yield { ...next.value, name: s.name };
  }
}

/** `--tail`: a count, or `all`; without it 100 lines, or all of them when a window (--since) is given. */
function parseTail(value: string | undefined, windowed: boolean): number | undefined {
  if (value === undefined) return windowed ? undefined : 100;
  if (value === 'all') return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`-n expects a number of lines or "all", not "${value}"`);
  return Number(value);
}
