import { defineConfig } from 'tsup';

export default defineConfig({
  // orphans: what `iii worker list` reads of sandboxes when no engine runs, without the engine itself.
  entry: ['src/index.ts', 'src/client.ts', 'src/orphans.ts'],
  // ESM for import, CommonJS for require() (Node 20.19 can require ESM, but TypeScript's node16 resolution
  // from .cts cannot): both carry their own typings (.d.ts, .d.cts).
  format: ['esm', 'cjs'],
  // import.meta.url (used to find files beside the module) also works in the CommonJS build.
  shims: true,
  target: 'node20',
  dts: true,
  sourcemap: true,
  clean: true,
});
