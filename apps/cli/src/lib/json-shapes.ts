import * as z from 'zod';
import { listSchema, maybe, orphanSchema, workerRowSchema } from './list-shapes.js';

/**
 * The `--json` shapes of `inspect` and `df` (and `list`'s, from list-shapes.ts), as the commands
 * build them: every key is always present (`null` when it does not apply). docs/json-output.md is
 * generated from these (`npm run docs:json`), and a test fails when the page is not current.
 */
export { listSchema, workerRowSchema };

export const workerDetailsSchema = workerRowSchema.extend({
  restartPolicy: z.string().describe('`always`, `on-failure` or `never`.'),
  network: z.string().describe('`host` or `none`.'),
  init: maybe(z.boolean()).describe(
    'Whether an init (tini) is PID 1 of its sandbox, with the worker below it (false where the host has none).',
  ),
  resources: z
    .looseObject({
      cpus: maybe(z.number()).describe('CPUs it may use.'),
      memory: maybe(z.number()).describe('Memory limit in bytes.'),
    })
    .describe('Resource limits as applied.'),
  argv: maybe(z.array(z.string())).describe('Entrypoint and command as run.'),
  env: maybe(z.record(z.string(), z.string())).describe(
    'Environment as run (secrets masked unless --reveal).',
  ),
  imageRootfs: maybe(z.string()).describe('The read-only image rootfs it runs from.'),
  rootfs: maybe(z.string()).describe("The worker's own root while it runs."),
  runtime: maybe(z.string()).describe('OCI runtime.'),
  sandbox: maybe(
    z.looseObject({
      mode: z.string().describe('`rootful` or `rootless`.'),
      idMap: maybe(z.string()).describe('Rootless: `subordinate` or `single`.'),
      rootfs: z.string().describe('`overlay`, `userns-overlay` or `copy`.'),
      limitsEnforced: z.boolean().describe('Whether cpus and memory limits are enforced.'),
      limitsNote: maybe(z.string()).describe('Why they are not.'),
    }),
  ).describe('How the running `iii` sandboxes workers.'),
  containerId: maybe(z.string()).describe('Container id while it runs.'),
  logDir: z.string().describe('Directory of its log files.'),
});

export const inspectSchema = z.looseObject({
  name: z.string().describe('Worker name.'),
  image: z.string().describe('Image reference as written in config.yaml.'),
  digest: maybe(z.string()).describe('Digest iii.lock pins: what it runs when it (re)starts.'),
  runningDigest: maybe(z.string()).describe(
    'Digest the running worker runs when it differs from `digest` (until `iii worker restart`).',
  ),
  index: maybe(z.string()).describe('Digest of the index the manifest was chosen from.'),
  platform: maybe(z.string()).describe('`os/arch[/variant]` pinned.'),
  size: maybe(z.number()).describe('Compressed size of the image in the store, in bytes.'),
  unpackedSize: maybe(z.number()).describe('Size of its unpacked root file system, in bytes.'),
  present: z.boolean().describe('Whether the pinned image is fully present locally.'),
  rootfs: maybe(z.string()).describe('Its unpacked root file system.'),
  layers: maybe(
    z.array(
      z.object({
        chainId: z.string().describe('Chain ID of the layer: its snapshot under $III_HOME/snapshots.'),
        bytes: z.number().describe('Size of the unpacked layer.'),
        shared: z
          .boolean()
          .describe('Whether another image in the store has it (a prune keeps it for that one).'),
        sharedWith: z
          .array(z.string())
          .describe(
            'The other images in the store that have it (a name each was pulled as, else its digest); a prune keeps it while one of them is kept.',
          ),
      }),
    ),
  ).describe('Its layers unpacked as snapshots, lowest first (null when not all are).'),
  entrypoint: z.array(z.string()).describe('ENTRYPOINT of the image.'),
  cmd: z.array(z.string()).describe('CMD of the image.'),
  argv: z.array(z.string()).describe('What runs, with `--url` set to the engine address.'),
  engineAddress: z
    .looseObject({
      url: z.string().describe('The address the worker dials.'),
      rule: z.string().describe('`engine` or `config`.'),
      key: maybe(z.string()).describe('The config.yaml key whose value was used or recognised.'),
      reason: z.string().describe('The rule in words.'),
    })
    .describe('The engine address the worker gets, and why.'),
  user: maybe(z.string()).describe('USER of the image.'),
  workingDir: maybe(z.string()).describe('WORKDIR of the image.'),
  env: z.record(z.string(), z.string()).describe('Environment (secrets masked unless --reveal).'),
  unresolved: z.array(z.string()).describe('config: keys whose variable is not set here.'),
  resources: maybe(z.record(z.string(), z.unknown())).describe('resources: of the entry.'),
  restart: z.string().describe('Restart policy.'),
  network: z.string().describe('Network mode.'),
  init: z
    .boolean()
    .describe('`init:` of the entry: run below an init (tini) as PID 1 of its sandbox (default true).'),
  logs: z.string().describe('Directory of its log files.'),
  state: z.string().describe('Its state in words.'),
  run: maybe(workerDetailsSchema).describe(
    'Run-time state from the running `iii` (same keys as a list row, and more).',
  ),
  orphan: maybe(orphanSchema).describe('Its sandbox when it runs although `iii` does not.'),
});

export const dfImageSchema = z.object({
  digest: z.string().describe('Manifest digest of the image.'),
  names: z.array(z.string()).describe('References it was pulled or built as (the store records them).'),
  compressed: z.number().describe('Bytes of its manifest, config and layers in the store (compressed).'),
  unpacked: z
    .number()
    .nullable()
    .describe('Bytes of its unpacked root file system; null when it is not unpacked.'),
  shared: z.number().describe('Bytes of its blobs that other images of the store use too.'),
  workers: z.array(z.string()).describe('Workers of config.yaml pinned to it.'),
  previousOf: z.array(z.string()).describe('Workers that `iii worker rollback` would pin to it.'),
  prunable: z.boolean().describe('Whether `iii worker prune` deletes it.'),
});

export const dfWorkerSchema = z.object({
  name: z.string().describe('Worker name (its directory under sandbox/workers).'),
  bytes: z.number().describe('Bytes of its sandbox directory, logs included.'),
  logs: z.number().describe('Bytes of its log files.'),
  configured: z.boolean().describe('Whether config.yaml has the worker.'),
  prunable: z
    .boolean()
    .describe('Whether `iii worker prune` deletes the directory (no longer in config.yaml, not running).'),
});

export const dfSchema = z.object({
  home: z.string().describe('$III_HOME.'),
  total: z
    .number()
    .describe('Bytes of everything under $III_HOME, as `du -sb --one-file-system` counts them.'),
  store: z
    .object({
      path: z.string().describe('The image store (an OCI image layout).'),
      bytes: z.number().describe('Bytes of the store directory.'),
      blobs: z.number().describe('Number of blobs in it.'),
    })
    .describe('Pulled images, compressed.'),
  rootfs: z
    .object({
      path: z.string().describe('The directory of unpacked images.'),
      bytes: z.number().describe('Bytes of the directory.'),
    })
    .describe('Unpacked, read-only root file systems, one per image run on a copy of its root.'),
  snapshots: z
    .object({
      path: z.string().describe('The directory of unpacked layers.'),
      bytes: z.number().describe('Bytes of the directory.'),
      count: z.number().describe('Number of layer snapshots in it.'),
    })
    .describe('Unpacked image layers, one per chain ID, shared by every image that has them.'),
  sandboxes: z
    .object({
      path: z.string().describe('The directory of the workers\u2019 sandboxes.'),
      bytes: z.number().describe('Bytes of the directory.'),
    })
    .describe('Per-worker sandbox directories: bundle, writable layer, logs, state.'),
  other: z
    .object({ bytes: z.number().describe('Bytes of the rest: runtime state, run records, builds.') })
    .describe('Everything else under $III_HOME.'),
  images: z.array(dfImageSchema).describe('Each image in the store.'),
  workers: z.array(dfWorkerSchema).describe('Each worker directory under sandbox/workers.'),
  reclaimable: z
    .object({
      images: z.number().describe('Bytes of blobs, unpacked images and layers `iii worker prune` deletes.'),
      merged: z
        .number()
        .describe(
          'Of `images`, bytes of merged copies of pinned images that now run on their layer snapshots (unpacked before layers were kept apart; no running worker uses them).',
        ),
      sandboxes: z.number().describe('Bytes of sandbox directories `iii worker prune` deletes.'),
      total: z.number().describe('The sum: what `iii worker prune` frees.'),
    })
    .describe('What `iii worker prune` would free now (`iii worker prune --dry-run` lists it).'),
});

export type DfResult = z.infer<typeof dfSchema>;

/** The pages generated from these schemas: the command and its schema. */
export const JSON_SHAPES: { command: string; schema: z.ZodObject }[] = [
  { command: 'iii worker list', schema: listSchema },
  { command: 'iii worker inspect <name>', schema: inspectSchema },
  { command: 'iii system df', schema: dfSchema },
];
