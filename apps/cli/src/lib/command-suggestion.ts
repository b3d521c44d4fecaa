import { closest } from './closest.js';

export type CommandLookup = CommandSuggestion | ExtraArguments;

/** A command typed right, followed by arguments it does not take (oclif then finds no command). */
export interface ExtraArguments {
  kind: 'extra-arguments';
  /** The command's words (`['worker', 'list']`). */
  command: string[];
  args: string[];
}

export interface CommandSuggestion {
  kind: 'unknown';
  /** The topic words the user typed correctly before the unknown word (`['worker']`). */
  topic: string[];
  /** The word that names no command or topic (`ad`). */
  unknown: string;
  /** The whole corrected command line, arguments as typed (`worker add 127.0.0.1:5055/x:1`). */
  suggestion?: string[];
}

/**
 * Finds the word of `argv` that names no command and the command line the user most likely meant.
 * It works on the words as typed, never on oclif's colon-joined id, so arguments that contain `:`
 * (image references, host:port) are neither mistaken for command words nor split apart.
 * `ids` are every command id, alias and topic, colon-separated (`worker:add`, `worker:ls`, `worker`).
 */
export function suggestCommand(argv: readonly string[], ids: readonly string[]): CommandLookup | undefined {
  const known = new Set(ids);
  const isTopic = (path: string[]) => ids.some((id) => id.startsWith(`${path.join(':')}:`));
  const children = (path: string[]) =>
    [
      ...new Set(
        ids
          .filter((id) => {
            const parts = id.split(':');
            return parts.length === path.length + 1 && path.every((w, i) => parts[i] === w);
          })
          .map((id) => id.split(':').at(-1)!),
      ),
    ].sort();

  const topic: string[] = [];
  let i = 0;
  while (i < argv.length && isWord(argv[i]!) && isTopic([...topic, argv[i]!])) topic.push(argv[i++]!);
  const unknown = argv[i];
  if (unknown === undefined || !isWord(unknown)) return undefined;
  if (known.has([...topic, unknown].join(':')))
    return { kind: 'extra-arguments', command: [...topic, unknown], args: argv.slice(i + 1) };

  // Correct the unknown word among its siblings; when that lands on a topic, the next word may be a
  // typo of one of its commands too (`wroker lsit`).
  const corrected = [...topic];
  let j = i;
  for (;;) {
    const word = argv[j];
    if (word === undefined || !isWord(word)) break;
    if (known.has([...corrected, word].join(':')) && !isTopic([...corrected, word])) {
      corrected.push(word);
      j++;
      break;
    }
    const fix = known.has([...corrected, word].join(':')) ? word : closest(word, children(corrected));
    if (!fix) {
      if (j === i) return { kind: 'unknown', topic, unknown };
      break;
    }
    corrected.push(fix);
    j++;
    if (!isTopic(corrected)) break;
  }
  return { kind: 'unknown', topic, unknown, suggestion: [...corrected, ...argv.slice(j)] };
}

/** A command word: not a flag, not a `key=value`, not an argument with a path or reference in it. */
function isWord(s: string): boolean {
  return /^[a-z][a-z0-9-]*$/i.test(s);
}
