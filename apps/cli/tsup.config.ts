import { defineConfig } from 'tsup';

export default defineConfig([
  // The `iii` executable: its entry (bin/run.js loads dist/cli/main.js), the commands and hooks, one
  // file each so oclif finds them by path and `iii <command>` loads only that command. Bundled with
  // @oclif/core and its dependencies, shared code split into chunks: start-up then reads a few files
  // instead of ~160 small CommonJS modules, which was most of the fixed cost of every command.
  // The project's packages stay external (they are published, and read files next to their dist).
  {
    entry: ['src/main.ts', 'src/commands/**/*.ts', 'src/hooks/**/*.ts', '!src/**/*.test.ts'],
    outDir: 'dist/cli',
    format: ['esm'],
    target: 'node20',
    bundle: true,
    splitting: true,
    noExternal: ['@oclif/core'],
    // Only loaded by oclif for TypeScript plugins linked in development.
    external: ['typescript', 'ts-node'],
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
