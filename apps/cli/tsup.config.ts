import { defineConfig } from 'tsup';

export default defineConfig([
  // The `iii` executable: its entry (bin/run.js loads dist/cli/main.js), the commands and hooks, one
  // file each so oclif finds them by path and `iii <command>` loads only that command. Bundled with
  // everything it imports (@oclif/core, the project's packages, zod, yaml, ws...), shared code split
  // into chunks: start-up then reads a few files instead of hundreds of small modules, which was most
  // of the fixed cost of every command, and tree-shaking drops what no command uses (zod's locales).
  // The project's packages find the files they ship (templates, the unpack thread, the sandbox
  // reaper) through their package name, so they must stay dependencies of this package.
  {
    entry: ['src/main.ts', 'src/commands/**/*.ts', 'src/hooks/**/*.ts', '!src/**/*.test.ts'],
    outDir: 'dist/cli',
    format: ['esm'],
    target: 'node20',
    bundle: true,
    splitting: true,
    // All but typescript and ts-node (only loaded by oclif for TypeScript plugins linked in
    // development) and esbuild (only loaded by @iii/oci when it runs from its TypeScript sources).
    noExternal: [/^(?!(typescript|ts-node|esbuild)$)/],
    external: ['typescript', 'ts-node', 'esbuild'],
    // Bundled CommonJS (@oclif/core) calls require() and __dirname, which ESM lacks.
    shims: true,
    banner: {
      js: "import { createRequire as __iiiCreateRequire } from 'node:module';\nconst require = __iiiCreateRequire(import.meta.url);",
    },
    sourcemap: true,
  },
  // The public API for plugin authors (src/index.ts), transpiled file by file with its dependencies
  // (@oclif/core included) external, so a plugin shares the @oclif/core it installs.
  {
    entry: ['src/**/*.ts', '!src/**/*.test.ts', '!src/main.ts', '!src/commands/**', '!src/hooks/**'],
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
