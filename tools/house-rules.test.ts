/**
 * Five rules of the codebase no linter here checks:
 * - no code under packages/*\/src or apps/*\/src touches an `_`-prefixed member of another
 *   library's object (`ws._socket`, `extract._parse`): private internals move between versions and
 *   pin dependencies. A class's own `_` members (`this._x`, or a member the same file declares)
 *   are its business. (Implementing a library's documented hooks, such as a stream's `_transform`,
 *   declares the member in the file, so it counts as the file's own.)
 * - no module of packages/*\/src keeps state at module level: no top-level `let` or `var`, and no
 *   top-level container (Map, Set, array, object) that the module mutates. State belongs to an
 *   instance that its caller creates, so two users in one process never share it by accident.
 * - the building blocks @iii/base provides have no second implementation: outside packages/base no
 *   source takes a lock file by exclusive create (`open(path, 'wx')`), probes a pid with signal 0,
 *   or defines a function of the names base exports; and the blocks taken from a library or
 *   written once elsewhere stay single: no hand-written concurrency limiter (p-limit), edit
 *   distance (fastest-levenshtein) or hand-padded table (the CLI's formatColumns).
 * - no synchronous write on the engine's event loop: the engine's process routes every invocation
 *   on one loop, and a write to a slow disk would stall them all. The files checked are every
 *   module of packages/engine/src and everything they load, followed through relative imports,
 *   re-exports, `import()`, `new URL('./x.js', import.meta.url)` (a thread's entry) and `@iii/*`
 *   packages (to their src): that is how the engine unpacks an image when it starts a worker whose
 *   rootfs is not cached, and how it writes logs. None of them may call `writeSync`, `writevSync`,
 *   `writeFileSync` or `appendFileSync`. Calls that write no file content (mkdir, chmod, utimes,
 *   close) are not covered. `syncWriteExceptions` lists the files that run off the main thread.
 * - zod is imported as a namespace (`import * as z from 'zod'`), never as `import { z }`: the `iii`
 *   executable is bundled, and esbuild tree-shakes only the namespace form; the other keeps all of
 *   zod, its locales included, which every command then loads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(group: 'packages' | 'apps'): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const name of readdirSync(join(root, group))) {
    const src = join(root, group, name, 'src');
    try {
      walk(src);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return files.sort();
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

function where(source: ts.SourceFile, node: ts.Node): string {
  const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
  return `${relative(root, source.fileName)}:${line + 1}`;
}

/**
 * Keys of the iii wire protocol that begin with `_` (PROTOCOL.md): fields of JSON data, not members
 * of a library's objects.
 */
const protocolKeys = new Set(['_caller_worker_id']);

/**
 * Files loaded by the engine that may write synchronously, because they run in a thread of their
 * own and never on the engine's event loop: the small-files thread of the unpack (a worker thread
 * that writes batches of small files with synchronous calls, which is its purpose).
 */
const syncWriteExceptions = new Set(['packages/oci/src/unpack/small-files-thread.ts']);

const syncWrites = new Set(['writeSync', 'writevSync', 'writeFileSync', 'appendFileSync']);

/**
 * Names of the members that classes and object literals of this file implement. Interfaces and type
 * literals do not count: describing another library's internals does not make them ours.
 */
function declaredMembers(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node) => {
    if (
      (ts.isPropertyDeclaration(node) ||
        ts.isMethodDeclaration(node) ||
        ts.isGetAccessorDeclaration(node) ||
        ts.isSetAccessorDeclaration(node) ||
        ts.isPropertyAssignment(node)) &&
      node.name &&
      (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name))
    ) {
      names.add(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

/** `x._member`, `x['_member']` and `{ _member } = x` on anything but `this` or the file's own members. */
export function privateMemberUses(source: ts.SourceFile): string[] {
  const own = declaredMembers(source);
  const found: string[] = [];
  const report = (node: ts.Node, name: string, target: ts.Expression | undefined) => {
    if (!name.startsWith('_') || own.has(name) || protocolKeys.has(name)) return;
    if (target && target.kind === ts.SyntaxKind.ThisKeyword) return;
    found.push(`${where(source, node)}: ${node.getText(source)}`);
  };
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAccessExpression(node)) report(node, node.name.text, node.expression);
    else if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) {
      report(node, node.argumentExpression.text, node.expression);
    } else if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) {
      const name = node.propertyName ?? node.name;
      if (ts.isIdentifier(name) || ts.isStringLiteral(name)) report(node, name.text, undefined);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const mutatingMethods = new Set([
  'set',
  'add',
  'delete',
  'clear',
  'push',
  'pop',
  'shift',
  'unshift',
  'splice',
  'sort',
  'reverse',
  'fill',
  'copyWithin',
]);

function isContainer(init: ts.Expression | undefined): boolean {
  if (!init) return false;
  while (ts.isAsExpression(init) || ts.isSatisfiesExpression(init) || ts.isParenthesizedExpression(init)) {
    init = init.expression;
  }
  if (ts.isArrayLiteralExpression(init) || ts.isObjectLiteralExpression(init)) return true;
  return (
    ts.isNewExpression(init) &&
    ts.isIdentifier(init.expression) &&
    ['Map', 'Set', 'WeakMap', 'WeakSet', 'Array'].includes(init.expression.text)
  );
}

/** Top-level `let`/`var`, and top-level containers the module changes after creating them. */
export function moduleState(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const containers = new Map<string, ts.Node>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const list = statement.declarationList;
    const isConst = (list.flags & ts.NodeFlags.Const) !== 0;
    for (const declaration of list.declarations) {
      if (!isConst) {
        found.push(
          `${where(source, declaration)}: top-level ${list.flags & ts.NodeFlags.Let ? 'let' : 'var'} ${declaration.name.getText(source)}`,
        );
      } else if (ts.isIdentifier(declaration.name) && isContainer(declaration.initializer)) {
        containers.set(declaration.name.text, declaration);
      }
    }
  }
  if (containers.size === 0) return found;
  const mutated = new Set<string>();
  /** The top-level container `node` names, if it is `name` or `name.x` / `name[x]` (any depth). */
  const containerOf = (node: ts.Expression): string | undefined => {
    while (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) node = node.expression;
    return ts.isIdentifier(node) && containers.has(node.text) ? node.text : undefined;
  };
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const name = containerOf(node.expression.expression);
      if (name && mutatingMethods.has(node.expression.name.text)) mutated.add(name);
    }
    if (
      ts.isBinaryExpression(node) &&
      node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment &&
      node.operatorToken.kind <= ts.SyntaxKind.LastAssignment &&
      (ts.isPropertyAccessExpression(node.left) || ts.isElementAccessExpression(node.left))
    ) {
      const name = containerOf(node.left);
      if (name) mutated.add(name);
    }
    if (
      (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) &&
      (node.operator === ts.SyntaxKind.PlusPlusToken || node.operator === ts.SyntaxKind.MinusMinusToken) &&
      (ts.isPropertyAccessExpression(node.operand) || ts.isElementAccessExpression(node.operand))
    ) {
      const name = containerOf(node.operand);
      if (name) mutated.add(name);
    }
    if (ts.isDeleteExpression(node)) {
      const name = containerOf(node.expression);
      if (name) mutated.add(name);
    }
    if (
      ts.isCallExpression(node) &&
      node.expression.getText(source) === 'Object.assign' &&
      node.arguments[0] &&
      containerOf(node.arguments[0])
    ) {
      mutated.add(containerOf(node.arguments[0]) as string);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  for (const name of mutated) {
    found.push(
      `${where(source, containers.get(name) as ts.Node)}: top-level ${name} is changed by the module`,
    );
  }
  return found;
}

const baseBlocks = [
  'writeFileAtomic',
  'withFileLock',
  'acquireFileLock',
  'isProcessAlive',
  'workerNameProblem',
];

/** Lines of `text` that re-implement a building block that exists once (in @iii/base or elsewhere). */
function secondImplementations(file: string, text: string): string[] {
  const path = relative(root, file);
  const rules: [RegExp, string][] = [
    [/\bopen\([^)]*['"]wx\+?['"]/, 'a lock file by exclusive create (use withFileLock of @iii/base)'],
    [/\bkill\([^)]*,\s*0\s*\)/, 'a pid probe (use isProcessAlive of @iii/base)'],
    [new RegExp(`function\\s+(${baseBlocks.join('|')})\\b`), 'a function @iii/base already exports'],
    [/queue\.push\(resolve\)|\bclass\s+(Slots|Semaphore|Limiter)\b/, 'a concurrency limiter (use p-limit)'],
    [/function\s+(editDistance|levenshtein|damerau)/i, 'an edit distance (use fastest-levenshtein)'],
  ];
  if (path !== join('apps', 'cli', 'src', 'lib', 'columns.ts')) {
    rules.push([/\.padEnd\(widths/, 'a hand-padded table (use formatColumns of the CLI)']);
  }
  // Comments may name what they do not do.
  const isComment = (line: string) => /^\s*(\/\/|\/?\*)/.test(line);
  return text
    .split('\n')
    .flatMap((line, i) =>
      isComment(line)
        ? []
        : rules.filter(([re]) => re.test(line)).map(([, what]) => `${path}:${i + 1}: ${what}`),
    );
}

/** Module specifiers a file loads: imports, re-exports, `import()` and `new URL(x, import.meta.url)`. */
export function loadedSpecifiers(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      !(ts.isImportDeclaration(node) ? node.importClause?.isTypeOnly : node.isTypeOnly)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    } else if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'URL' &&
      node.arguments?.[0] &&
      ts.isStringLiteral(node.arguments[0]) &&
      node.arguments[1]?.getText(source) === 'import.meta.url'
    ) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The source file a specifier of `from` names, or undefined for a module outside the repository. */
function resolveSource(from: string, specifier: string): string | undefined {
  const candidates = (base: string) => [
    base.replace(/\.[cm]?js$/, '.ts'),
    `${base}.ts`,
    join(base, 'index.ts'),
  ];
  if (specifier.endsWith('.json')) return undefined;
  let bases: string[];
  if (specifier.startsWith('.')) bases = [join(from, '..', specifier)];
  else {
    const match = /^@iii\/([^/]+)(?:\/(.+))?$/.exec(specifier);
    if (!match) return undefined;
    bases = [join(root, 'packages', match[1] as string, 'src', match[2] ?? 'index')];
  }
  for (const base of bases) {
    for (const candidate of candidates(base)) {
      try {
        readFileSync(candidate);
        return candidate;
      } catch {}
    }
  }
  throw new Error(`${relative(root, from)}: cannot find the source of '${specifier}'`);
}

/** Every source file the engine's modules load, directly or not (relative to the repository). */
function engineFiles(): string[] {
  const start = sourceFiles('packages').filter(
    (file) => file.startsWith(join(root, 'packages/engine/src/')) && !/\.test\.ts$/.test(file),
  );
  const seen = new Set<string>();
  const queue = [...start];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of loadedSpecifiers(parse(file))) {
      const target = resolveSource(file, specifier);
      if (target && !seen.has(target)) queue.push(target);
    }
  }
  return [...seen].map((file) => relative(root, file)).sort();
}

/** Calls of a synchronous write (`fs.writeSync(...)`, `writeSync(...)`) and imports of one. */
export function syncWriteUses(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isIdentifier(callee)
        ? callee.text
        : ts.isPropertyAccessExpression(callee)
          ? callee.name.text
          : undefined;
      if (name && syncWrites.has(name)) found.push(`${where(source, node)}: ${callee.getText(source)}`);
    } else if (ts.isImportSpecifier(node) && syncWrites.has((node.propertyName ?? node.name).text)) {
      found.push(`${where(source, node)}: import ${node.getText(source)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('house rules', () => {
  it('no source touches an _-prefixed member of another library', () => {
    const files = [...sourceFiles('packages'), ...sourceFiles('apps')];
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap((file) => privateMemberUses(parse(file)))).toEqual([]);
  });

  it('nothing the engine loads writes synchronously on its event loop', () => {
    const files = engineFiles();
    // The walk reaches the unpack (through @iii/workers) and the log writer (through @iii/sandbox).
    expect(files).toContain('packages/oci/src/unpack/layer-writer.ts');
    expect(files).toContain('packages/oci/src/unpack/small-files-thread.ts');
    expect(files).toContain('packages/sandbox/src/logs/writer.ts');
    for (const exception of syncWriteExceptions) expect(files).toContain(exception);
    const checked = files.filter((file) => !syncWriteExceptions.has(file));
    expect(checked.flatMap((file) => syncWriteUses(parse(join(root, file))))).toEqual([]);
  });

  it('no module of a package keeps mutable state at module level', () => {
    const files = sourceFiles('packages').filter((file) => !/\.test\.ts$/.test(file));
    expect(files.flatMap((file) => moduleState(parse(file)))).toEqual([]);
  });

  it('the building blocks of @iii/base are implemented once', () => {
    const files = [...sourceFiles('packages'), ...sourceFiles('apps')].filter(
      (file) => !relative(root, file).startsWith(join('packages', 'base')) && !/\.test\.ts$/.test(file),
    );
    expect(files.flatMap((file) => secondImplementations(file, readFileSync(file, 'utf8')))).toEqual([]);
    expect(
      secondImplementations(
        'sample.ts',
        [
          "await open(p, 'wx', 0o600);",
          'process.kill(pid, 0);',
          'export async function writeFileAtomic() {}',
          'else await new Promise<void>((resolve) => this.queue.push(resolve));',
          'function editDistance(a: string, b: string) {}',
          'row.map((cell, i) => cell.padEnd(widths[i]));',
        ].join('\n'),
      ),
    ).toHaveLength(6);
  });

  it('zod is imported as a namespace, so the bundled executable leaves out what it does not use', () => {
    const named = /^import\s*\{[^}]*\bz\b[^}]*\}\s*from\s*'zod'/m;
    const files = [...sourceFiles('packages'), ...sourceFiles('apps')].filter((f) => !/\.test\.ts$/.test(f));
    expect(files.filter((f) => named.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f))).toEqual(
      [],
    );
    expect(named.test("import { z } from 'zod';")).toBe(true);
    expect(named.test("import * as z from 'zod';\nimport type { z as t } from 'zod';")).toBe(false);
  });

  it('the checks find what they look for', () => {
    const sample = ts.createSourceFile(
      'sample.ts',
      [
        "import { WebSocket } from 'ws';",
        'let count = 0;',
        'const cache = new Map<string, number>();',
        'const fixed = new Set([1, 2]);',
        'const seen: string[] = [];',
        'const state = { n: 0 };',
        'export function f(ws: WebSocket) {',
        '  cache.set("a", 1);',
        '  seen.push("x");',
        '  state.n++;',
        '  const tcp = (ws as unknown as { _socket: unknown })._socket;',
        '  const { _parse } = ws as unknown as { _parse: unknown };',
        "  return [fixed.has(1), tcp, _parse, (ws as never)['_receiver'], count];",
        '}',
        'class Own { private _mine = 1; get mine() { return this._mine + other()._mine; } }',
        'function other(): Own { return new Own(); }',
      ].join('\n'),
      ts.ScriptTarget.Latest,
      true,
    );
    expect(privateMemberUses(sample).map((line) => line.replace(/^[^ ]*: /, ''))).toEqual([
      '(ws as unknown as { _socket: unknown })._socket',
      '_parse',
      "(ws as never)['_receiver']",
    ]);
    expect(moduleState(sample).map((line) => line.replace(/^[^ ]*: /, ''))).toEqual([
      'top-level let count',
      'top-level cache is changed by the module',
      'top-level seen is changed by the module',
      'top-level state is changed by the module',
    ]);
    const writes = ts.createSourceFile(
      'writes.ts',
      [
        "import fs, { writeSync as write } from 'node:fs';",
        "import { writeFile } from 'node:fs/promises';",
        'export async function f(fd: number) {',
        "  write(fd, 'a');",
        "  fs.appendFileSync('log', 'b');",
        "  fs.mkdirSync('dir');",
        "  await writeFile('c', 'd');",
        '}',
      ].join('\n'),
      ts.ScriptTarget.Latest,
      true,
    );
    expect(syncWriteUses(writes).map((line) => line.replace(/^[^ ]*: /, ''))).toEqual([
      'import writeSync as write',
      'fs.appendFileSync',
    ]);
    expect(loadedSpecifiers(writes)).toEqual(['node:fs', 'node:fs/promises']);
  });
});
