import { build } from 'esbuild';

// The worker is bundled into one file so the image needs neither node_modules nor a network
// connection at image build time: `iii worker build` only copies dist/worker.mjs.
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
