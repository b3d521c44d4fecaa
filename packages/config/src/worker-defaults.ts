import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { resourcesSchema, type WorkerResources } from './schema.js';

/** Variables every image sets for the OS, not for the worker: never copied into `config:`. */
export const SYSTEM_ENV_KEYS: readonly string[] = [
  'PATH',
  'HOME',
  'HOSTNAME',
  'LANG',
  'TERM',
  'USER',
  'SHELL',
  'PWD',
  'SHLVL',
];

/** An image's `Env` (`K=V` lines) as `config:` defaults: system variables dropped, keys sorted. */
export function imageEnvDefaults(env: readonly string[] | null | undefined): Record<string, string> {
  const pairs: [string, string][] = [];
  for (const line of env ?? []) {
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === '' || SYSTEM_ENV_KEYS.includes(key)) continue;
    pairs.push([key, eq < 0 ? '' : line.slice(eq + 1)]);
  }
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(pairs);
}

const workerManifestSchema = z.looseObject({ resources: resourcesSchema.nullish() });

/** What an image declares about itself in `/iii/worker.yaml`. */
export interface WorkerManifest {
  resources?: WorkerResources;
}

/** Parses `/iii/worker.yaml` from an image; a broken file is an error naming the image's file. */
export function parseWorkerManifest(text: string, where: string): WorkerManifest {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors[0]) {
    throw new ConfigError(
      'WORKER_MANIFEST',
      `${where}: ${doc.errors[0].message.split('\n')[0]}`,
      'The image ships an invalid /iii/worker.yaml; rebuild the image with a valid one.',
    );
  }
  const result = workerManifestSchema.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(
      'WORKER_MANIFEST',
      `${where}: ${issue.path.join('.')}: ${issue.message}`,
      'The image ships an invalid /iii/worker.yaml; rebuild the image with a valid one.',
    );
  }
  const resources = result.data.resources;
  if (!resources || (resources.cpus === undefined && resources.memory === undefined)) return {};
  return {
    resources: {
      ...(resources.cpus !== undefined ? { cpus: resources.cpus } : {}),
      ...(resources.memory !== undefined ? { memory: resources.memory } : {}),
    },
  };
}

export interface MergeConfigInput {
  /** `config:` as it is in config.yaml now (possibly edited by the user). */
  current: Record<string, unknown> | null | undefined;
  /** Defaults of the image the entry was added from, when known. */
  previousDefaults?: Record<string, string> | undefined;
  /** Defaults of the new image. */
  nextDefaults: Record<string, string>;
}

/**
 * `config:` after moving a worker to a new image: values the user edited win; values still equal
 * to the old image's default follow the new default; new defaults are added; keys the user deleted
 * stay deleted. Without the old defaults every current value counts as the user's.
 */
export function mergeWorkerConfig(input: MergeConfigInput): Record<string, unknown> {
  const current = input.current ?? {};
  const prev = input.previousDefaults;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(current)) {
    const untouched = prev !== undefined && Object.hasOwn(prev, key) && prev[key] === value;
    out[key] = untouched && Object.hasOwn(input.nextDefaults, key) ? input.nextDefaults[key] : value;
  }
  for (const [key, value] of Object.entries(input.nextDefaults)) {
    if (Object.hasOwn(out, key)) continue;
    const deletedByUser = prev !== undefined && Object.hasOwn(prev, key);
    if (!deletedByUser) out[key] = value;
  }
  return out;
}
