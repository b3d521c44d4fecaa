import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // state: the sandboxes' state on disk alone, for commands that must not load the runtime.
    entry: ['src/index.ts', 'src/state.ts'],
    // ESM for import, CommonJS for require() (Node 20.19 can require ESM, but TypeScript's node16 resolution
    // from .cts cannot): both carry their own typings (.d.ts, .d.cts).
    format: ['esm', 'cjs'],
    // import.meta.url (used to find the reaper beside the module) also works in the CommonJS build.
    shims: true,
    target: 'node20',
    dts: true,
    sourcemap: true,
  },
  // The reaper is a process of its own (top-level await), started by path from either build.
  {
    entry: ['src/reaper-main.ts'],
    format: ['esm'],
    target: 'node20',
    sourcemap: true,
  },
]);
