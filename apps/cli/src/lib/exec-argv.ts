/** Flags of exec that take a value: the token after them is that value, not the worker name. */
const VALUE_FLAGS = new Set(['-e', '--env', '-w', '--workdir', '--timeout', '-c', '--config']);
/** Boolean short flags that may be written together, as in `-it`. */
const SHORT_SWITCHES = new Set(['i', 't']);

/**
 * Reads the command line as `docker exec` does: the exec flags, the worker name, then the command,
 * whatever flags it has (`exec -it w ls -la`). `--` after the name is allowed; flags between the
 * name and a `--` are still exec's, as before. `command` is undefined when the oclif parse of the
 * whole line is to be used (a `--` before any name). `-it` is split into `-i -t`.
 */
export function splitCommand(argv: readonly string[]): { own: string[]; command?: string[] } {
  const own: string[] = [];
  let named = false;
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    if (t === '--') {
      if (!named) return { own: [...argv] };
      return { own, command: argv.slice(i + 1) };
    }
    if (t.startsWith('-') && t !== '-') {
      if (/^-[a-zA-Z]{2,}$/.test(t) && [...t.slice(1)].every((c) => SHORT_SWITCHES.has(c))) {
        own.push(...[...t.slice(1)].map((c) => `-${c}`));
        continue;
      }
      own.push(t);
      if (VALUE_FLAGS.has(t) && i + 1 < argv.length) own.push(argv[++i]!);
      continue;
    }
    if (!named) {
      named = true;
      own.push(t);
      continue;
    }
    // The rest is the command, flags and `--` included, unless exec flags follow the name up to a `--`.
    const rest = argv.slice(i);
    return { own, command: rest };
  }
  return { own, command: [] };
}
