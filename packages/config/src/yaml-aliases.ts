import { type Alias, type Document, type LineCounter, type Node, visit } from 'yaml';
import { ConfigParseError } from './errors.js';

/**
 * Most alias expansions a file may make, the `yaml` library's own default: a handful of `<<: *base`
 * merges is far below it, while an alias bomb (anchors of aliases of anchors) reaches it at once.
 */
export const MAX_ALIAS_COUNT = 100;

/**
 * `doc.toJS()` with alias expansion bounded. The library throws a bare ReferenceError for an alias
 * bomb or an alias to an unknown anchor; this names the file, line and column of the alias instead.
 */
export function documentToJS(doc: Document.Parsed, lines: LineCounter, file: string, hint?: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    const unresolved = firstAlias(doc, (a) => a.resolve(doc) === undefined);
    if (unresolved) {
      const pos = lines.linePos(unresolved.range?.[0] ?? 0);
      throw new ConfigParseError(
        file,
        pos.line,
        pos.col,
        `alias *${unresolved.source} names no anchor defined before it`,
        hint,
      );
    }
    // The alias that starts the blow-up: the first one whose anchor itself holds aliases.
    const culprit = firstAlias(doc, (a) => holdsAlias(a.resolve(doc))) ?? firstAlias(doc, () => true);
    const pos = lines.linePos(culprit?.range?.[0] ?? 0);
    throw new ConfigParseError(
      file,
      pos.line,
      pos.col,
      `aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} expansions): refused as a YAML alias bomb`,
      hint ?? `Write the values out instead of nesting aliases in ${file}; it was left unchanged.`,
    );
  }
}

function firstAlias(doc: Document.Parsed, test: (alias: Alias) => boolean): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (!test(node)) return undefined;
      found = node;
      return visit.BREAK;
    },
  });
  return found;
}

function holdsAlias(node: Node | undefined): boolean {
  if (!node) return false;
  let found = false;
  visit(node, {
    Alias() {
      found = true;
      return visit.BREAK;
    },
  });
  return found;
}
