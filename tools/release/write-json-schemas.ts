// Writes the JSON Schemas that @iii/config ships (schema/*.schema.json), generated from its zod
// schemas: `npm run schemas` after changing them. A test fails while the files are out of date.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configJsonSchema, workerJsonSchema } from '../../packages/config/src/json-schema.ts';
import { repoRoot } from './packages.ts';

const dir = join(repoRoot, 'packages', 'config', 'schema');
await mkdir(dir, { recursive: true });
for (const [file, schema] of [
  ['config.schema.json', configJsonSchema()],
  ['worker.schema.json', workerJsonSchema()],
] as const) {
  await writeFile(join(dir, file), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote packages/config/schema/${file}`);
}
// In the repository's own format, so `npm run lint` passes on the written files.
execFileSync(join(repoRoot, 'node_modules', '.bin', 'biome'), ['format', '--write', dir], {
  stdio: 'inherit',
});
