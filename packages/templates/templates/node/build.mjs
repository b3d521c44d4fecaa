import { build } from 'esbuild';

// The worker and its dependencies are bundled into one file, dist/worker.mjs, which is what the
// image runs (the Dockerfile runs this build in its first stage). Run it by hand too, to try the
// worker outside an image: `npm run build && npm start`.
await build({
  entryPoints: ['src/worker.ts'],
  outfile: 'dist/worker.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // CommonJS dependencies (such as ws) call require(); an ESM bundle has to provide it.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  // Optional native speed-ups of ws; it works without them.
  external: ['bufferutil', 'utf-8-validate'],
  logLevel: 'info',
});
