import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './tools/vitest/longest-first-sequencer.ts';

const root = fileURLToPath(new URL('.', import.meta.url));

// Tests import sibling packages from source, so a change is tested without a rebuild.
// End-to-end tests of the CLI run the built `iii` binary instead (see apps/cli/test).
// Subpath exports come first: an alias also matches what starts with its name and a slash.
const alias = Object.fromEntries([
  ['@iii/engine/client', `${root}packages/engine/src/client.ts`],
  ['@iii/engine/orphans', `${root}packages/engine/src/orphans.ts`],
  ['@iii/sandbox/state', `${root}packages/sandbox/src/state.ts`],
  ...['base', 'oci', 'config', 'sandbox', 'workers', 'sdk', 'engine', 'templates', 'export'].map((name) => [
    `@iii/${name}`,
    `${root}packages/${name}/src/index.ts`,
  ]),
]);

/**
 * Files that must not run beside others, relative to the repo root. They run one at a time after
 * all the others. `nx-cache.test.ts` runs `npm run build`, which may rewrite the `dist/` directories
 * that the end-to-end tests run; `unpack-safety.test.ts` checks that /etc/passwd is unchanged, which
 * the `useradd` of tests that run as an ordinary user changes.
 */
const alone = ['tools/nx-cache.test.ts', 'packages/oci/test/unpack-safety.test.ts'];

const project = (name: string, dir: string) => ({
  extends: true as const,
  test: {
    name,
    root: `${root}${dir}`,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', '**/*.test.ts'],
    exclude: [
      '**/node_modules/**',
      '**/dist/**',
      ...alone.filter((f) => f.startsWith(`${dir}/`)).map((f) => f.slice(dir.length + 1)),
    ],
  },
});

export default defineConfig({
  resolve: { alias },
  test: {
    // Most of a test's time is spent waiting on other processes (registries, runc, engines, builds),
    // not on the CPU, so several files run at once even on two cores. Every test makes its own
    // ports, temp dirs, $III_HOME, users and container ids, and shared fixture builds are locked.
    // Three at once keeps two cores busy without starving the tests that wait on a child process.
    // VITEST_MAX_WORKERS overrides the number.
    maxWorkers: 3,
    sequence: { sequencer: LongestFirstSequencer },
    // Bounds that stop a hung test, not timing checks: with other files beside it, a test that takes
    // 20 s alone can take minutes on a busy machine, and a beforeAll may wait for a first build of a
    // shared fixture that another file is making.
    testTimeout: 300_000,
    hookTimeout: 900_000,
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
      {
        extends: true as const,
        test: { name: 'alone', root, include: alone, fileParallelism: false },
      },
    ],
  },
});
