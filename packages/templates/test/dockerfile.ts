/**
 * A small Dockerfile reader for tests: joins `\` continuations, drops comments, and splits each
 * instruction into its keyword and arguments (JSON form or shell form), as BuildKit's parser does.
 */
export interface Instruction {
  keyword: string;
  /** The raw text after the keyword. */
  raw: string;
  /** Exec-form arguments when the text is a JSON array of strings, else undefined. */
  json?: string[];
  line: number;
}

const KEYWORDS = new Set([
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
]);

export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  const lines = text.split('\n');
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trimEnd();
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    if (pending !== '' && line.trimStart().startsWith('#')) continue;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/.exec(full);
    if (!match) throw new Error(`line ${startLine}: cannot parse "${full}"`);
    const keyword = (match[1] ?? '').toUpperCase();
    if (!KEYWORDS.has(keyword)) throw new Error(`line ${startLine}: unknown instruction ${match[1]}`);
    const raw = match[2] ?? '';
    instructions.push({ keyword, raw, json: jsonForm(raw), line: startLine });
  }
  if (pending !== '') throw new Error('the Dockerfile ends in a line continuation');
  return instructions;
}

function jsonForm(raw: string): string[] | undefined {
  if (!raw.startsWith('[')) return undefined;
  const value: unknown = JSON.parse(raw);
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`exec form must be a JSON array of strings: ${raw}`);
  }
  return value;
}

/** `ENV A=1 B="two"` (and the legacy `ENV A 1`) as key/value pairs. */
export function envPairs(raw: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  if (!raw.includes('=')) {
    const [key, ...rest] = raw.split(/\s+/);
    if (key) pairs[key] = rest.join(' ');
    return pairs;
  }
  for (const match of raw.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const value = match[2] ?? '';
    pairs[match[1] ?? ''] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  }
  return pairs;
}
