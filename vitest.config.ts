import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

// Tests import sibling packages from source, so a change is tested without a rebuild.
// End-to-end tests of the CLI run the built `iii` binary instead (see apps/cli/test).
// Subpath exports come first: an alias also matches what starts with its name and a slash.
const alias = Object.fromEntries([
  ['@iii/engine/client', `${root}packages/engine/src/client.ts`],
  ...['base', 'oci', 'config', 'sandbox', 'workers', 'sdk', 'engine', 'templates', 'export'].map((name) => [
    `@iii/${name}`,
    `${root}packages/${name}/src/index.ts`,
  ]),
]);

const project = (name: string, dir: string) => ({
  extends: true as const,
  test: {
    name,
    root: `${root}${dir}`,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', '**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
  },
});

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default', `${root}tools/vitest/summary-reporter.ts`],
    projects: [
      project('base', 'packages/base'),
      project('oci', 'packages/oci'),
      project('config', 'packages/config'),
      project('sandbox', 'packages/sandbox'),
      project('workers', 'packages/workers'),
      project('sdk', 'packages/sdk'),
      project('engine', 'packages/engine'),
      project('templates', 'packages/templates'),
      project('export', 'packages/export'),
      project('cli', 'apps/cli'),
      project('tools', 'tools'),
    ],
  },
});
