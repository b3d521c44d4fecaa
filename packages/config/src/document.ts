import { isDeepStrictEqual } from 'node:util';
import type { CST } from 'yaml';
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type Scalar,
  stringify,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { ConfigError, ConfigParseError, InvalidWorkerNameError, WorkerNotFoundError } from './errors.js';
import { CONFIG_SCHEMA_URL, schemaComment } from './json-schema.js';
import {
  type ConfigFile,
  configFileSchema,
  KNOWN_KEYS,
  READ_ONCE,
  type WorkerEntry,
  workerEntrySchema,
} from './schema.js';
import { workerNameProblem } from './worker-name.js';
import { documentToJS } from './yaml-aliases.js';

/** A problem in config.yaml that does not stop it loading (an unknown key): where it is and what. */
export interface ConfigWarning {
  message: string;
  path: (string | number)[];
  line: number;
  column: number;
}

/** What `add` writes for a worker; key order here is the order in the file. */
export type WorkerEntryInput = WorkerEntry;

const ENTRY_KEY_ORDER = ['name', 'image', 'enabled', 'config', 'resources', 'restart', 'network', 'init'];

/**
 * config.yaml as the user wrote it. Edits splice text at the positions the parser reports, so
 * everything outside the edited worker entry keeps its bytes: comments, quoting, blank lines, order.
 * Instances are immutable; every edit returns a new, re-validated document.
 */
export class ConfigDocument {
  readonly file: string;
  readonly text: string;
  readonly config: ConfigFile;
  readonly warnings: ConfigWarning[];
  readonly #doc: Document.Parsed;
  readonly #lines: LineCounter;

  private constructor(
    file: string,
    text: string,
    doc: Document.Parsed,
    lines: LineCounter,
    config: ConfigFile,
  ) {
    this.file = file;
    this.text = text;
    this.#doc = doc;
    this.#lines = lines;
    this.config = config;
    this.warnings = this.#unknownKeyWarnings();
  }

  /** Parses and validates; throws {@link ConfigParseError} with file, line and column. */
  static parse(text: string, file: string): ConfigDocument {
    const lines = new LineCounter();
    const doc = parseDocument(text, { keepSourceTokens: true, lineCounter: lines, prettyErrors: false });
    const yamlError = doc.errors[0];
    if (yamlError) {
      const pos = lines.linePos(yamlError.pos[0]);
      const reason = yamlError.message.split('\n')[0] ?? 'invalid YAML';
      throw new ConfigParseError(file, pos.line, pos.col, reason.replace(/ at line \d+, column \d+.*$/, ''));
    }
    const contents = doc.contents;
    if (contents !== null && !isMap(contents)) {
      const pos = lines.linePos(contents.range?.[0] ?? 0);
      throw new ConfigParseError(
        file,
        pos.line,
        pos.col,
        'the top level must be a mapping (engine:, workers:)',
      );
    }
    const result = configFileSchema.safeParse(
      contents === null ? {} : documentToJS(doc, lines, file),
      READ_ONCE,
    );
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const pos = positionOf(doc, lines, path);
      const where = path.length > 0 ? `${path.join('.')}: ` : '';
      throw new ConfigParseError(file, pos.line, pos.col, `${where}${issue.message}`);
    }
    return new ConfigDocument(file, text, doc, lines, result.data);
  }

  /**
   * The document `add` starts from when there is no file yet: its first line points editors at the
   * JSON Schema of config.yaml (completion and checks as you type).
   */
  static empty(file: string): ConfigDocument {
    return ConfigDocument.parse(`${schemaComment(CONFIG_SCHEMA_URL)}\nworkers: []\n`, file);
  }

  get workers(): WorkerEntry[] {
    return this.config.workers ?? [];
  }

  worker(name: string): WorkerEntry | undefined {
    return this.workers.find((w) => w.name === name);
  }

  /**
   * Where a worker's entry, or one of its keys (`image`, `config`, …), is written, as
   * `file:line:column`, for messages about it; the entry itself when the key is absent.
   */
  whereIs(name: string, key?: string): string {
    const seq = this.#workersPair()?.value;
    const index = isSeq(seq) ? seq.items.findIndex((item) => isMap(item) && item.get('name') === name) : -1;
    const path = index < 0 ? ['workers'] : key ? ['workers', index, key] : ['workers', index];
    const pos = positionOf(this.#doc, this.#lines, path);
    return `${this.file}:${pos.line}:${pos.col}`;
  }

  /** Appends a worker entry after the last one; the file's other bytes are unchanged. */
  withWorker(entry: WorkerEntryInput): ConfigDocument {
    const clean = validateEntry(entry);
    if (this.worker(clean.name)) {
      throw new ConfigError(
        'WORKER_EXISTS',
        `a worker named "${clean.name}" already exists in ${this.file}`,
        'Choose another name with --name, or replace it with --force.',
      );
    }
    const text = this.text;
    const pair = this.#workersPair();
    const value = pair?.value as Node | null | undefined;

    if (!pair) {
      // No `workers:` key yet: append one at the end.
      const sep = text === '' || text.endsWith('\n') ? '' : '\n';
      return this.#reparse(`${text}${sep}workers:\n${renderEntry(clean, 2)}`);
    }
    const keyNode = pair.key as Node;
    const colonEnd = colonAfter(text, keyNode.range![1]);
    const keyIndent = keyNode.range![0] - lineStart(text, keyNode.range![0]);

    if (isSeq(value) && !value.flow && value.items.length > 0) {
      const items = blockItems(value);
      const last = items[items.length - 1]!;
      const at = lineEndIncl(text, last.end);
      const rendered = renderEntry(clean, last.indent);
      if (at === text.length && !text.endsWith('\n')) {
        return this.#reparse(`${text}\n${rendered.slice(0, -1)}`);
      }
      return this.#reparse(splice(text, at, at, rendered));
    }
    if (isSeq(value)) {
      // Flow sequence (`[]` or `[a, b]`): becomes a block sequence; an empty one round-trips with remove.
      const existing = value.toJSON() as unknown[];
      const rendered = [
        ...existing.map((e) => renderValue([e], keyIndent + 2)),
        renderEntry(clean, keyIndent + 2),
      ]
        .join('')
        .slice(0, -1);
      return this.#reparse(splice(text, colonEnd, value.range![1], `\n${rendered}`));
    }
    if (value === null || value === undefined || (isScalar(value) && value.value === null)) {
      // `workers:` with nothing (or `~`): drop an explicit null and put the entry under the key line.
      let t = text;
      const range = value?.range;
      if (range && range[1] > range[0]) t = splice(t, colonEnd, range[1], '');
      const at = lineEndIncl(t, colonEnd);
      const rendered = renderEntry(clean, keyIndent + 2);
      if (at === t.length && !t.endsWith('\n')) return this.#reparse(`${t}\n${rendered.slice(0, -1)}`);
      return this.#reparse(splice(t, at, at, rendered));
    }
    throw new ConfigError(
      'CONFIG_SHAPE',
      `${this.file}: workers must be a list`,
      'Make `workers:` a YAML list.',
    );
  }

  /** Removes a worker entry (its lines only). Removing the last one leaves `workers: []`. */
  withoutWorker(name: string): ConfigDocument {
    const { seq, index } = this.#locate(name);
    const text = this.text;
    if (seq.flow) {
      const rest = (seq.toJSON() as unknown[]).filter((_, i) => i !== index);
      const pair = this.#workersPair()!;
      const colonEnd = colonAfter(text, (pair.key as Node).range![1]);
      return this.#reparse(
        splice(text, colonEnd, seq.range![1], ` ${stringify(rest, { flow: true }).trim()}`),
      );
    }
    const items = blockItems(seq);
    const item = items[index]!;
    let start = lineStart(text, item.dash);
    const end = lineEndIncl(text, item.end);
    if (items.length === 1) {
      const pair = this.#workersPair()!;
      const colonEnd = colonAfter(text, (pair.key as Node).range![1]);
      // Only whitespace between `workers:` and the item: restore the compact empty form.
      if (text.slice(colonEnd, start).trim() === '') {
        const tail = text[end - 1] === '\n' ? '\n' : '';
        return this.#reparse(splice(text, colonEnd, end, ` []${tail}`));
      }
    }
    if (end === text.length && !text.endsWith('\n') && start > 0) start -= 1;
    return this.#reparse(splice(text, start, end, ''));
  }

  /**
   * Rewrites one worker entry to `entry`, changing only what differs, so comments and quoting inside
   * the entry survive where their keys do. The rest of the file keeps its bytes.
   */
  withReplacedWorker(name: string, entry: WorkerEntryInput): ConfigDocument {
    const clean = validateEntry(entry);
    if (clean.name !== name && this.worker(clean.name)) {
      throw new ConfigError(
        'WORKER_EXISTS',
        `a worker named "${clean.name}" already exists in ${this.file}`,
        'Choose another name.',
      );
    }
    const current = this.worker(name);
    if (current && isDeepStrictEqual(current, clean)) return this;
    const { seq } = this.#locate(name);
    if (seq.flow) {
      const all = (seq.toJSON() as unknown[]).map((v) =>
        isPlainObject(v) && v.name === name ? orderEntry(clean) : v,
      );
      const pair = this.#workersPair()!;
      const colonEnd = colonAfter(this.text, (pair.key as Node).range![1]);
      return this.#reparse(
        splice(this.text, colonEnd, seq.range![1], ` ${stringify(all, { flow: true }).trim()}`),
      );
    }
    // A block entry is edited in the text, one changed value at a time, so every value that does
    // not change keeps its bytes: flow lists as written (`[64, 128]`), quoting, comments and spacing.
    const desired = orderEntry(clean);
    let doc: ConfigDocument = this;
    for (let step = 0; step < 1000; step++) {
      const { seq: current, index } = doc.#locate(doc.worker(name) ? name : clean.name);
      const edit = nextMapEdit(doc.text, current.items[index] as YAMLMap, desired);
      if (!edit) return doc;
      doc = doc.#reparse(splice(doc.text, edit.start, edit.end, edit.insert));
    }
    throw new ConfigError(
      'CONFIG_EDIT',
      `${this.file}: could not rewrite worker "${name}"`,
      'Edit the entry by hand.',
    );
  }

  #reparse(text: string): ConfigDocument {
    // A file written with CRLF line ends keeps them: the new lines get CRLF too.
    const crlf = this.text.includes('\r\n') && !/(^|[^\r])\n/.test(this.text);
    return ConfigDocument.parse(crlf ? text.replace(/(^|[^\r])\n/g, '$1\r\n') : text, this.file);
  }

  #workersPair(): Pair | undefined {
    const contents = this.#doc.contents;
    if (!isMap(contents)) return undefined;
    return contents.items.find((p) => isScalar(p.key) && p.key.value === 'workers');
  }

  #locate(name: string): { seq: YAMLSeq; index: number } {
    const seq = this.#workersPair()?.value;
    if (isSeq(seq)) {
      const index = seq.items.findIndex((item) => isMap(item) && item.get('name') === name);
      if (index >= 0) return { seq, index };
    }
    throw new WorkerNotFoundError(name, this.file);
  }

  #unknownKeyWarnings(): ConfigWarning[] {
    const warnings: ConfigWarning[] = [];
    const check = (node: unknown, path: (string | number)[], known: readonly string[], what: string) => {
      if (!isMap(node)) return;
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (known.includes(key)) continue;
        const range = (pair.key as Node | null)?.range;
        const pos = this.#lines.linePos(range?.[0] ?? 0);
        warnings.push({
          message: `${this.file}:${pos.line}:${pos.col}: unknown key "${key}" in ${what} (kept as is)`,
          path: [...path, key],
          line: pos.line,
          column: pos.col,
        });
      }
    };
    const root = this.#doc.contents;
    check(root, [], KNOWN_KEYS.root, 'the top level');
    if (!isMap(root)) return warnings;
    check(root.get('engine', true), ['engine'], KNOWN_KEYS.engine, 'engine');
    check(root.get('sandbox', true), ['sandbox'], KNOWN_KEYS.sandbox, 'sandbox');
    const workers = root.get('workers', true);
    if (isSeq(workers)) {
      workers.items.forEach((item, i) => {
        const label = isMap(item) ? `worker "${String(item.get('name'))}"` : `worker ${i + 1}`;
        check(item, ['workers', i], KNOWN_KEYS.worker, label);
        if (isMap(item))
          check(
            item.get('resources', true),
            ['workers', i, 'resources'],
            KNOWN_KEYS.resources,
            `${label} resources`,
          );
      });
    }
    return warnings;
  }
}

function validateEntry(entry: WorkerEntryInput): WorkerEntry {
  const problem = workerNameProblem(entry.name);
  if (problem) throw new InvalidWorkerNameError(entry.name, problem);
  const result = workerEntrySchema.safeParse(entry);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(
      'INVALID_WORKER_ENTRY',
      `invalid entry for worker "${entry.name}": ${issue.path.join('.')} ${issue.message}`.trim(),
      'Check the values given for this worker.',
    );
  }
  return entry;
}

function orderEntry(entry: WorkerEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ENTRY_KEY_ORDER)
    if ((entry as Record<string, unknown>)[key] !== undefined)
      out[key] = (entry as Record<string, unknown>)[key];
  for (const [key, v] of Object.entries(entry)) if (!(key in out) && v !== undefined) out[key] = v;
  return out;
}

function renderEntry(entry: WorkerEntry, indentBy: number): string {
  return renderValue([orderEntry(entry)], indentBy);
}

function renderValue(list: unknown[], indentBy: number): string {
  return indent(stringify(list, { lineWidth: 0 }), indentBy);
}

function indent(text: string, by: number): string {
  const pad = ' '.repeat(by);
  return text
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n');
}

interface TextEdit {
  start: number;
  end: number;
  insert: string;
}

/**
 * The first text edit that brings a block map closer to `desired`, or undefined when it matches:
 * a key it should not have is removed (its lines), a changed value is rewritten in place, a missing
 * key is added after the last one. Nested block maps are compared key by key, so only the values
 * that change are ever rewritten.
 */
function nextMapEdit(text: string, map: YAMLMap, desired: Record<string, unknown>): TextEdit | undefined {
  if (map.flow) {
    if (isDeepStrictEqual(map.toJSON(), desired)) return undefined;
    return { start: map.range![0], end: map.range![1], insert: flowText(desired) };
  }
  for (const pair of map.items) {
    const key = keyOf(pair);
    if (key === undefined || desired[key] === undefined) {
      const start = lineStart(text, (pair.key as Node).range![0]);
      return { start, end: lineEndIncl(text, pairEnd(pair)), insert: '' };
    }
  }
  for (const [key, value] of Object.entries(desired)) {
    if (value === undefined) continue;
    const pair = map.items.find((p) => keyOf(p) === key);
    if (!pair) {
      const last = map.items[map.items.length - 1]!;
      const keyStart = (last.key as Node).range![0];
      const at = lineEndIncl(text, pairEnd(last));
      const rendered = indent(
        stringify({ [key]: value }, { lineWidth: 0 }),
        keyStart - lineStart(text, keyStart),
      );
      return {
        start: at,
        end: at,
        insert: at === text.length && !text.endsWith('\n') ? `\n${rendered}` : rendered,
      };
    }
    const node = pair.value as Node | null;
    if (isMap(node) && !node.flow && isPlainObject(value) && Object.keys(value).length > 0) {
      const edit = nextMapEdit(text, node, value);
      if (edit) return edit;
      continue;
    }
    const current = node === null ? null : isScalar(node) ? node.value : node.toJSON();
    if (isDeepStrictEqual(current, value)) continue;
    return valueEdit(text, pair, value);
  }
  return undefined;
}

/** Rewrites one pair's value: a scalar in place (keeping its quoting style), a collection as a whole. */
function valueEdit(text: string, pair: Pair, value: unknown): TextEdit {
  const node = pair.value as Node | null;
  const isLeaf = (v: unknown) => v === null || typeof v !== 'object';
  if (node && isScalar(node) && isLeaf(value) && !String(node.type ?? '').startsWith('BLOCK')) {
    const [start, end] = node.range!;
    const rendered = scalarText(value, node.type);
    return start === end ? { start, end, insert: ` ${rendered}` } : { start, end, insert: rendered };
  }
  // A list or map the user wrote in flow style (`[64, 128]`) stays in flow style, in place.
  if (node && (isSeq(node) || isMap(node)) && node.flow && !isLeaf(value))
    return { start: node.range![0], end: node.range![1], insert: flowText(value) };
  const keyNode = pair.key as Node;
  const colonEnd = colonAfter(text, keyNode.range![1]);
  const end = lineEndIncl(text, pairEnd(pair));
  const newline = text[end - 1] === '\n' ? '\n' : '';
  if (isLeaf(value)) return { start: colonEnd, end, insert: ` ${scalarText(value, undefined)}${newline}` };
  const keyIndent = keyNode.range![0] - lineStart(text, keyNode.range![0]);
  const block = indent(stringify(value, { lineWidth: 0 }), keyIndent + 2);
  return { start: colonEnd, end, insert: `\n${newline ? block : block.replace(/\n$/, '')}` };
}

function scalarText(value: unknown, type: Scalar['type']): string {
  const keep = type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE' || type === 'PLAIN' ? type : undefined;
  const text = stringify(value, { lineWidth: 0, ...(keep ? { defaultStringType: keep } : {}) }).replace(
    /\n$/,
    '',
  );
  // A multi-line string would come out as a block scalar; on one line it is a double-quoted string.
  return text.includes('\n') ? JSON.stringify(value) : text;
}

function flowText(value: unknown): string {
  return stringify(value, { collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0 }).trim();
}

function keyOf(pair: Pair): string | undefined {
  const key = isScalar(pair.key) ? (pair.key as Scalar).value : pair.key;
  return typeof key === 'string' ? key : undefined;
}

/** Where a pair's value ends (its key's end when it has no value). */
function pairEnd(pair: Pair): number {
  const value = pair.value as Node | null;
  return value?.range ? value.range[1] : (pair.key as Node).range![1];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface BlockItem {
  /** Offset of the `-` indicator. */
  dash: number;
  /** Column of the `-` indicator. */
  indent: number;
  /** Offset just past the item's value. */
  end: number;
}

/** Item positions of a block sequence, from the concrete syntax tree the parser kept. */
function blockItems(seq: YAMLSeq): BlockItem[] {
  const token = seq.srcToken as CST.BlockSequence | undefined;
  if (token?.type !== 'block-seq') throw new Error('expected a block sequence');
  const out: BlockItem[] = [];
  let n = 0;
  for (const item of token.items) {
    const dash = item.start.find((t) => t.type === 'seq-item-ind');
    if (!dash) continue;
    const node = seq.items[n++] as Node | null;
    const end = node?.range ? Math.max(node.range[1], dash.offset + 1) : dash.offset + 1;
    out.push({ dash: dash.offset, indent: dash.indent, end });
  }
  return out;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** The offset after the newline that ends the line containing `offset - 1`'s content. */
function lineEndIncl(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === '\n') return offset;
  const nl = text.indexOf('\n', offset);
  return nl === -1 ? text.length : nl + 1;
}

function colonAfter(text: string, keyEnd: number): number {
  const colon = text.indexOf(':', keyEnd);
  return colon === -1 ? keyEnd : colon + 1;
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

function positionOf(
  doc: Document,
  lines: LineCounter,
  path: (string | number)[],
): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
    if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]);
  }
  return { line: 1, col: 1 };
}
