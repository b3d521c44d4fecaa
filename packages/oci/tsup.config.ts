import { defineConfig } from 'tsup';

export default defineConfig({
  // The small-files thread is started from its own file, which must sit next to the bundle.
  entry: { index: 'src/index.ts', 'small-files-thread': 'src/unpack/small-files-thread.ts' },
  // ESM for import, CommonJS for require() (Node 20.19 can require ESM, but TypeScript's node16 resolution
  // from .cts cannot): both carry their own typings (.d.ts, .d.cts).
  format: ['esm', 'cjs'],
  // import.meta.url (used to find files beside the module) also works in the CommonJS build.
  shims: true,
  // p-limit is ESM only: bundled, so that the CommonJS build does not require() it (esbuild's interop
  // would hand require() callers the module namespace instead of its default export).
  noExternal: ['p-limit', 'yocto-queue'],
  target: 'node20',
  // The build config covers src only; tsconfig.json also typechecks the tests (which import the test tools).
  tsconfig: 'tsconfig.build.json',
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
});
