import { defineConfig } from 'tsup';

// Commands stay one file each (oclif discovers them by path), so we transpile instead of bundling.
export default defineConfig({
  entry: ['src/**/*.ts', '!src/**/*.test.ts'],
  format: ['esm'],
  target: 'node20',
  bundle: false,
  sourcemap: true,
  clean: true,
});
