import { readFile } from 'node:fs/promises';
import { defineConfig, type Options } from 'tsup';

/**
 * Edits to the dependencies' code as it is bundled into the executable, each for the reason given.
 * A pattern that no longer matches after an upgrade costs speed, not correctness, except the first,
 * which the tests check (apps/cli/test/cli.test.ts).
 */
const dependencyEdits: Array<{ file: RegExp; find: RegExp; replace: string }> = [
  // Computed `import()`s (oclif loading ES module plugins, lilconfig loading config files) call
  // `__iiiImport`, a parameter of the function code-cache.ts compiles the bundle in: on Node 20 an
  // `import()` fails in code V8 took from a code cache (`vm.Script` loses its dynamic import callback),
  // and works only behind an experimental warning without one. An `import()` of a literal path is
  // bundled by esbuild and left alone.
  { file: /./, find: /\bimport\((?!\s*['"`])/g, replace: '__iiiImport(' },
  // oclif sorts each plugin's commands with localeCompare on every start, and the first
  // localeCompare of a process builds ICU's collator: ~7 ms of the ~60 ms `iii --version` spends
  // beyond `node -e 0`. Command ids are lowercase words joined by `:` or `-`, which sort the same by
  // code unit; only the order of help listings could differ, for a plugin's mixed-case ids.
  {
    file: /@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/,
    find: /\.sort\(\(a, b\) => a\.id\.localeCompare\(b\.id\)\)/g,
    replace: '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))',
  },
  // oclif finds its core plugins among the dependencies by matching every dependency against every
  // name in `oclif.plugins` with minimatch (~45 patterns compiled to regular expressions on every
  // start, ~3 ms). A name without glob characters matches only itself.
  {
    file: /@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin-loader\.js$/,
    find: /\(0, minimatch_1\.minimatch\)\(p, w\)/g,
    replace: '(/[*?[\\]{}()]|^!/.test(w) ? (0, minimatch_1.minimatch)(p, w) : p === w)',
  },
  // The one character outside ASCII left in the bundle (esbuild escapes them everywhere but in
  // regular expressions): ansis's CSI (U+009B), written as the escape it stands for, so that the
  // loader can read the bundle as a one-byte string, half the memory and decoding time.
  { file: /[\\/]ansis[\\/]/, find: /\u009b/g, replace: '\\x9b' },
];

const editDependencies: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'edit-dependencies',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/].*\.[cm]?js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      let contents = source;
      for (const edit of dependencyEdits) {
        if (edit.file.test(args.path)) contents = contents.replace(edit.find, edit.replace);
      }
      return contents === source ? undefined : { contents, loader: 'js' };
    });
  },
};

export default defineConfig([
  // The `iii` executable: one CommonJS file, dist/cli/iii.cjs (src/executable.ts: main, every command,
  // the hooks), bundled with everything it imports (@oclif/core, the project's packages, zod, yaml,
  // ws...). bin/run.js compiles it with a V8 code cache (src/code-cache.ts), which needs one classic
  // script rather than ES modules; each command's code still runs only when that command is asked for.
  // Tree-shaking drops what no command uses (zod's locales). The project's packages find the files
  // they ship (templates, the unpack thread, the sandbox reaper) through their package name, so they
  // must stay dependencies of this package.
  {
    entry: { iii: 'src/executable.ts' },
    outDir: 'dist/cli',
    format: ['cjs'],
    target: 'node20',
    bundle: true,
    // All but typescript and ts-node (only loaded by oclif for TypeScript plugins linked in
    // development) and esbuild (only loaded by @iii/oci when it runs from its TypeScript sources).
    noExternal: [/^(?!(typescript|ts-node|esbuild)$)/],
    external: ['typescript', 'ts-node', 'esbuild'],
    // import.meta.url for the packages that find their files from it.
    shims: true,
    esbuildPlugins: [editDependencies],
    // Less to read, hash and decode on every start; names are kept, and the source map maps lines back.
    minifyWhitespace: true,
    sourcemap: true,
  },
  // The loader of the executable, Node's own modules only.
  {
    entry: { 'code-cache': 'src/code-cache.ts' },
    outDir: 'dist/cli',
    format: ['cjs'],
    target: 'node20',
    bundle: true,
    sourcemap: true,
  },
  // The public API for plugin authors (src/index.ts), transpiled file by file with its dependencies
  // (@oclif/core included) external, so a plugin shares the @oclif/core it installs.
  {
    entry: [
      'src/**/*.ts',
      '!src/**/*.test.ts',
      '!src/main.ts',
      '!src/executable.ts',
      '!src/code-cache.ts',
      '!src/commands/**',
      '!src/hooks/**',
    ],
    format: ['esm'],
    target: 'node20',
    bundle: false,
    sourcemap: true,
  },
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'node20',
    dts: { only: true },
  },
  {
    entry: ['src/index.ts'],
    format: ['cjs'],
    target: 'node20',
    shims: true,
    dts: true,
    sourcemap: true,
  },
]);
