// `node tools/bench/pull/pull-once.mjs <reference> <workDir>`: pulls and unpacks one image in a
// process of its own, for the pull benchmark's peak-memory measurement. Plain JavaScript on the
// built @iii/oci, so no TypeScript loader inflates the number (run `npm run build` first).
import { ourPull } from './our-pull.mjs';

const [reference, workDir] = process.argv.slice(2);
if (!reference || !workDir) {
  process.stderr.write('usage: pull-once.mjs <reference> <workDir>\n');
  process.exit(2);
}
const start = performance.now();
await ourPull(reference, workDir);
const ms = performance.now() - start;
// maxRSS is in KiB on Linux.
process.stdout.write(`${JSON.stringify({ ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
