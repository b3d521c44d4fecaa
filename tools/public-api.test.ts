/**
 * The packages' public APIs are deliberate: every entry point a package.json `exports` (and every
 * `index.ts` under a package's src/) names what it exports one by one, never `export *`, so an
 * internal cannot leak out by being exported from a module for another module's sake; and every
 * declaration an entry point exports carries a doc comment, where editors show it. Read with the
 * TypeScript parser alone (no type checker), so the check stays fast.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Manifest {
  name: string;
  private?: boolean;
  exports?: Record<string, unknown>;
}

/** Workspace packages of packages/ and apps/: their directory and manifest. */
function workspaces(): { dir: string; manifest: Manifest }[] {
  return ['packages', 'apps'].flatMap((group) =>
    readdirSync(join(root, group), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(root, group, entry.name, 'package.json')))
      .map((entry) => {
        const dir = join(root, group, entry.name);
        return { dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest };
      }),
  );
}

/** The source file behind each JavaScript entry of `exports` (`./dist/client.js` → `src/client.ts`). */
function entrySources(dir: string, manifest: Manifest): string[] {
  const targets: string[] = [];
  const collect = (value: unknown) => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') for (const inner of Object.values(value)) collect(inner);
  };
  collect(manifest.exports ?? {});
  const sources = new Set<string>();
  for (const target of targets) {
    const match = /^\.\/dist\/(.+)\.(?:js|cjs|mjs)$/.exec(target);
    if (match) sources.add(join(dir, 'src', `${match[1]}.ts`));
  }
  return [...sources].filter((file) => existsSync(file));
}

function indexFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(at, entry.name));
      else if (entry.name === 'index.ts') found.push(join(at, entry.name));
    }
  };
  if (existsSync(join(dir, 'src'))) walk(join(dir, 'src'));
  return found;
}

const parsed = new Map<string, ts.SourceFile>();
function parse(file: string): ts.SourceFile {
  let source = parsed.get(file);
  if (!source) {
    source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    parsed.set(file, source);
  }
  return source;
}

function where(source: ts.SourceFile, node: ts.Node): string {
  const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
  return `${relative(root, source.fileName)}:${line + 1}`;
}

/** `export *` and `export * as x` statements of a file. */
export function starExports(source: ts.SourceFile): string[] {
  return source.statements
    .filter(
      (statement) =>
        ts.isExportDeclaration(statement) &&
        (!statement.exportClause || ts.isNamespaceExport(statement.exportClause)),
    )
    .map((statement) => `${where(source, statement)}: ${statement.getText(source)}`);
}

/** A workspace package's name → its main source entry, to follow re-exports across packages. */
function packageEntries(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const { dir, manifest } of workspaces()) {
    entries.set(manifest.name, join(dir, 'src', 'index.ts'));
    for (const source of entrySources(dir, manifest)) {
      const sub = relative(join(dir, 'src'), source).replace(/\.ts$/, '');
      if (sub !== 'index') entries.set(`${manifest.name}/${sub}`, source);
    }
  }
  return entries;
}

function resolveModule(from: string, specifier: string, packages: Map<string, string>): string | undefined {
  if (specifier.startsWith('.')) {
    const base = resolve(dirname(from), specifier).replace(/\.js$/, '');
    for (const candidate of [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) {
      if (existsSync(candidate)) return candidate;
    }
    return undefined;
  }
  return packages.get(specifier);
}

function hasDoc(node: ts.Node): boolean {
  return ts
    .getJSDocCommentsAndTags(node)
    .some((doc) => ts.isJSDoc(doc) && (doc.comment ?? doc.tags) !== undefined);
}

function isExported(node: ts.Node): boolean {
  return (
    ts.canHaveModifiers(node) &&
    (ts.getModifiers(node) ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)
  );
}

/** The declarations named `name` at the top of `source` (several for overloads and merged declarations). */
function localDeclarations(source: ts.SourceFile, name: string): ts.Node[] {
  const found: ts.Node[] = [];
  for (const statement of source.statements) {
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name) && declaration.name.text === name) found.push(declaration);
      }
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement) ||
        ts.isModuleDeclaration(statement)) &&
      statement.name?.getText(source) === name
    ) {
      found.push(statement);
    }
  }
  return found;
}

interface Resolved {
  /** Where the declaration is, for messages. */
  at: string;
  documented: boolean;
}

/**
 * Finds the declaration `name` exported by `file` refers to, following `export { x } from`, imports
 * re-exported by name, and (in files that are not entry points) `export *`.
 */
function resolveExport(
  file: string,
  name: string,
  packages: Map<string, string>,
  seen = new Set<string>(),
): Resolved | undefined {
  const key = `${file}#${name}`;
  if (seen.has(key)) return undefined;
  seen.add(key);
  const source = parse(file);
  const declarations = localDeclarations(source, name);
  if (declarations.length > 0) {
    return { at: where(source, declarations[0] as ts.Node), documented: declarations.some(hasDoc) };
  }
  for (const statement of source.statements) {
    if (
      ts.isExportDeclaration(statement) &&
      statement.exportClause &&
      ts.isNamedExports(statement.exportClause)
    ) {
      for (const specifier of statement.exportClause.elements) {
        if (specifier.name.text !== name) continue;
        const original = (specifier.propertyName ?? specifier.name).getText(source);
        if (statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
          const target = resolveModule(file, statement.moduleSpecifier.text, packages);
          return target ? resolveExport(target, original, packages, seen) : undefined;
        }
        return resolveImported(source, original, packages, seen);
      }
    }
  }
  for (const statement of source.statements) {
    if (
      ts.isExportDeclaration(statement) &&
      !statement.exportClause &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      const target = resolveModule(file, statement.moduleSpecifier.text, packages);
      const found = target ? resolveExport(target, name, packages, seen) : undefined;
      if (found) return found;
    }
  }
  return undefined;
}

function resolveImported(
  source: ts.SourceFile,
  local: string,
  packages: Map<string, string>,
  seen: Set<string>,
): Resolved | undefined {
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const bindings = statement.importClause?.namedBindings;
    if (!bindings || !ts.isNamedImports(bindings)) continue;
    for (const element of bindings.elements) {
      if (element.name.text !== local) continue;
      const target = resolveModule(source.fileName, statement.moduleSpecifier.text, packages);
      const original = (element.propertyName ?? element.name).getText(source);
      return target ? resolveExport(target, original, packages, seen) : undefined;
    }
  }
  return undefined;
}

/** Each name an entry point exports, and whether its declaration has a doc comment. */
export function undocumentedExports(entry: string, packages: Map<string, string>): string[] {
  const source = parse(entry);
  const problems: string[] = [];
  const check = (name: string, resolved: Resolved | undefined, node: ts.Node) => {
    if (!resolved) problems.push(`${where(source, node)}: ${name}: declaration not found`);
    else if (!resolved.documented)
      problems.push(`${resolved.at}: ${name} (exported by ${relative(root, entry)})`);
  };
  for (const statement of source.statements) {
    if (
      ts.isExportDeclaration(statement) &&
      statement.exportClause &&
      ts.isNamedExports(statement.exportClause)
    ) {
      for (const specifier of statement.exportClause.elements) {
        const name = specifier.name.text;
        const original = (specifier.propertyName ?? specifier.name).getText(source);
        let resolved: Resolved | undefined;
        if (statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
          const target = resolveModule(entry, statement.moduleSpecifier.text, packages);
          resolved = target ? resolveExport(target, original, packages) : undefined;
        } else {
          resolved = resolveExport(entry, original, packages);
        }
        check(name, resolved, specifier);
      }
    } else if (isExported(statement)) {
      const names = ts.isVariableStatement(statement)
        ? statement.declarationList.declarations.map((declaration) => declaration.name.getText(source))
        : [(statement as ts.DeclarationStatement).name?.getText(source) ?? 'default'];
      for (const name of names) check(name, resolveExport(entry, name, packages), statement);
    }
  }
  return problems;
}

describe('public APIs', () => {
  const packages = packageEntries();
  const all = workspaces();

  it('no index.ts re-exports a whole module with export *', () => {
    const files = all.flatMap(({ dir }) => indexFiles(dir));
    expect(files.length).toBeGreaterThan(5);
    expect(files.flatMap((file) => starExports(parse(file)))).toEqual([]);
  });

  it('every declaration an entry point exports has a doc comment', () => {
    const entries = all.flatMap(({ dir, manifest }) => entrySources(dir, manifest));
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.flatMap((entry) => undocumentedExports(entry, packages))).toEqual([]);
  });

  it('the checks find what they look for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'public-api-'));
    try {
      writeFileSync(
        join(dir, 'index.ts'),
        [
          "export * from './a.js';",
          "export * as all from './a.js';",
          "export { documented, undocumented, type Shape } from './b.js';",
          '/** Here. */',
          'export const local = 1;',
          'export function bare() {}',
        ].join('\n'),
      );
      writeFileSync(join(dir, 'a.ts'), 'export const a = 1;\n');
      writeFileSync(
        join(dir, 'b.ts'),
        [
          '/** Says what it is. */',
          'export function documented() {}',
          '// Not a doc comment.',
          'export const undocumented = 2;',
          'export interface Shape {}',
        ].join('\n'),
      );
      const entry = join(dir, 'index.ts');
      expect(starExports(parse(entry)).map((line) => line.replace(/^[^ ]*: /, ''))).toEqual([
        "export * from './a.js';",
        "export * as all from './a.js';",
      ]);
      expect(undocumentedExports(entry, new Map()).map((line) => line.replace(/^[^ ]*: /, ''))).toEqual([
        `undocumented (exported by ${relative(root, entry)})`,
        `Shape (exported by ${relative(root, entry)})`,
        `bare (exported by ${relative(root, entry)})`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
