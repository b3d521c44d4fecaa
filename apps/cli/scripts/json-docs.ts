// Writes docs/json-output.md from the schemas of the `--json` outputs (npm run docs:json).
import { writeFile } from 'node:fs/promises';
import { renderJsonShapes } from '../src/lib/json-shapes-doc.js';

const target = new URL('../../../docs/json-output.md', import.meta.url);
await writeFile(target, renderJsonShapes());
process.stdout.write(`wrote ${target.pathname}\n`);
