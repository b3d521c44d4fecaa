import { defineConfig } from 'tsup';

export default defineConfig({
  // The small-files thread is started from its own file, which must sit next to the bundle.
  entry: { index: 'src/index.ts', 'small-files-thread': 'src/unpack/small-files-thread.ts' },
  format: ['esm'],
  target: 'node20',
  // The build config covers src only; tsconfig.json also typechecks the tests (which import the test tools).
  tsconfig: 'tsconfig.build.json',
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
});
