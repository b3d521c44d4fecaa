import * as z from 'zod';
// Imported, so the build writes the version into the module (and the `iii` executable's bundle
// keeps it): finding package.json by the package's name when the module loads cost every command
// that loads this package ~1.5 ms of start-up.
import packageJson from '../package.json' with { type: 'json' };
import { configFileSchema } from './schema.js';
import { workerManifestSchema } from './worker-manifest.js';

type JsonSchema = Record<string, unknown>;

const { version } = packageJson;

/** Where editors fetch the JSON Schema of config.yaml for this release (shipped in @iii/config). */
export const CONFIG_SCHEMA_URL = `https://unpkg.com/@iii/config@${version}/schema/config.schema.json`;
/** Where editors fetch the JSON Schema of an image's /iii/worker.yaml (iii.worker.yaml in a project). */
export const WORKER_SCHEMA_URL = `https://unpkg.com/@iii/config@${version}/schema/worker.schema.json`;

/** The first line of a YAML file that tells editors (yaml-language-server) which schema it follows. */
export function schemaComment(url: string): string {
  return `# yaml-language-server: $schema=${url}`;
}

/**
 * Objects with known properties get `additionalProperties: false`, so an editor marks an unknown key
 * the way iii warns about it; maps of the user's own keys (`config:`) stay open. `openRoot` leaves
 * the top level open (worker.yaml may say more than iii reads).
 */
function closeObjects(node: unknown, openRoot: boolean, depth = 0): void {
  if (Array.isArray(node)) {
    for (const item of node) closeObjects(item, openRoot, depth + 1);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const schema = node as JsonSchema;
  if (schema.type === 'object' && schema.properties && !(openRoot && depth === 0)) {
    schema.additionalProperties = false;
  }
  for (const [key, value] of Object.entries(schema)) {
    closeObjects(value, openRoot, key === 'properties' ? depth : depth + 1);
  }
}

function generate(schema: z.ZodType, title: string, description: string, openRoot: boolean): JsonSchema {
  // The input side: what a user writes (before defaults and transforms). Refinements (worker names,
  // memory and cpus syntax) cannot be expressed and are checked by iii itself.
  const json = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as JsonSchema;
  closeObjects(json, openRoot);
  const { $schema, ...rest } = json;
  return { $schema, title, description, ...rest };
}

/** The JSON Schema of config.yaml, generated from the zod schema iii validates it with. */
export function configJsonSchema(): JsonSchema {
  return generate(
    configFileSchema,
    'iii config.yaml',
    'The workers iii runs, and the settings of its engine and sandbox. See docs/managing-workers.md.',
    false,
  );
}

/** The JSON Schema of an image's /iii/worker.yaml, generated from the zod schema iii reads it with. */
export function workerJsonSchema(): JsonSchema {
  return generate(
    workerManifestSchema(),
    'iii /iii/worker.yaml',
    "What a worker image declares about itself; `iii worker add` copies its resources into the worker's entry in config.yaml.",
    true,
  );
}
