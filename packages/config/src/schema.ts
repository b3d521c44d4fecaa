import * as z from 'zod';
import { parseCpus, parseMemory } from './resources.js';
import { workerNameProblem } from './worker-name.js';

const memorySchema = z.union([z.number(), z.string()]).superRefine((v, ctx) => {
  try {
    parseMemory(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const cpusSchema = z.union([z.number(), z.string()]).superRefine((v, ctx) => {
  try {
    parseCpus(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

export const resourcesSchema = z.looseObject({
  cpus: cpusSchema.optional(),
  memory: memorySchema.optional(),
});

export const restartPolicySchema = z.enum(['always', 'on-failure', 'never']);
export const networkModeSchema = z.enum(['host', 'none']);

export const workerNameSchema = z.string().superRefine((name, ctx) => {
  const problem = workerNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: `invalid worker name "${name}": ${problem}` });
});

export const workerEntrySchema = z.looseObject({
  name: workerNameSchema,
  image: z.string().min(1, 'image must not be empty'),
  config: z.record(z.string(), z.unknown()).nullish(),
  resources: resourcesSchema.nullish(),
  restart: restartPolicySchema.optional(),
  network: networkModeSchema.optional(),
  /**
   * `false` runs the worker itself as PID 1 of its sandbox instead of below an init (tini) that
   * forwards signals and reaps zombies. Default true.
   */
  init: z.boolean().optional(),
  /** `false` keeps the entry (and its pin) without running it. Default true. */
  enabled: z.boolean().optional(),
});

// `engine:` and `sandbox:` are built the first time a file has them (z.lazy): most config.yaml files
// have neither, and building zod schemas is a measurable part of every command's start-up.
export const engineSchema = z.lazy(() =>
  z.looseObject({
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    /** Most connections one peer address may hold open at once (see @iii/engine). */
    max_connections_per_peer: z.number().int().min(1).optional(),
    /** Apply edits of config.yaml and iii.lock to the running workers as they are saved. Default true. */
    watch: z.boolean().optional(),
  }),
);

export const sandboxSettingsSchema = z.lazy(() =>
  z.looseObject({
    runtime: z.string().min(1).optional(),
  }),
);

export const configFileSchema = z
  .looseObject({
    engine: engineSchema.nullish(),
    sandbox: sandboxSettingsSchema.nullish(),
    workers: z.array(workerEntrySchema).nullish(),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    (cfg.workers ?? []).forEach((w, i) => {
      const first = seen.get(w.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['workers', i, 'name'],
          message: `duplicate worker name "${w.name}" (also used by entry ${first + 1})`,
        });
      } else seen.set(w.name, i);
    });
  });

/** When the engine restarts a worker that exits: `no`, `on-failure` or `always`. */
export type RestartPolicy = z.infer<typeof restartPolicySchema>;
/** A worker sandbox's network: the host's (`host`) or none (`none`). */
export type NetworkMode = z.infer<typeof networkModeSchema>;
/** A worker's resource limits (`memory`, `cpus`) as config.yaml writes them. */
export type WorkerResources = z.infer<typeof resourcesSchema>;
/** One worker of config.yaml: its name, image, `config:`, resources, restart policy, network and init. */
export type WorkerEntry = z.infer<typeof workerEntrySchema>;
/** The `engine:` section of config.yaml: host, port, connection limits. */
export type EngineSettings = z.infer<typeof engineSchema>;
/** A whole config.yaml, as validated. */
export type ConfigFile = z.infer<typeof configFileSchema>;

/** The options every validation of a file read from disk passes to zod (see `READ_ONCE` of @iii/base). */
export { READ_ONCE } from '@iii/base';

/** The keys this version understands at each level; anything else is kept and reported as a warning. */
export const KNOWN_KEYS = {
  root: ['engine', 'sandbox', 'workers'],
  engine: ['host', 'port', 'max_connections_per_peer', 'watch'],
  sandbox: ['runtime'],
  worker: ['name', 'image', 'config', 'resources', 'restart', 'network', 'init', 'enabled'],
  resources: ['cpus', 'memory'],
} as const;

/** The address the engine listens on when config.yaml names none. */
export const DEFAULT_ENGINE_HOST = '127.0.0.1';
/** The port the engine listens on when config.yaml names none. */
export const DEFAULT_ENGINE_PORT = 49134;
/** The restart policy of a worker that names none. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = 'on-failure';
