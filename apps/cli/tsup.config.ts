import { defineConfig } from 'tsup';

export default defineConfig([
  // Commands stay one file each (oclif discovers them by path), so we transpile instead of bundling.
  {
    entry: ['src/**/*.ts', '!src/**/*.test.ts'],
    format: ['esm'],
    target: 'node20',
    bundle: false,
    sourcemap: true,
  },
  // The public API for plugin authors (src/index.ts): its typings for import, and a CommonJS build with
  // its own typings for require(). Its dependencies stay external.
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
