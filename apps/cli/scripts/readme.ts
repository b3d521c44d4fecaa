// Regenerates the command reference in apps/cli/README.md from the built commands
// (npm run docs:readme, after a build).
import { writeFile } from 'node:fs/promises';
import { readmePath, renderReadme } from './readme-doc.ts';

await writeFile(readmePath, await renderReadme());
process.stdout.write(`wrote ${readmePath}\n`);
