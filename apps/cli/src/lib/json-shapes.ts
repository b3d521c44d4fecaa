import { z } from 'zod';

/**
 * The `--json` shapes of the commands that report disk use, as the commands build them: every key
 * is always present (`null` when it does not apply). docs/json-output.md is generated from these
 * (`npm run docs:json`), and a test fails when the page is not current.
 */
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
    .describe('Unpacked, read-only root file systems, one per image.'),
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
      images: z.number().describe('Bytes of blobs and unpacked images `iii worker prune` deletes.'),
      sandboxes: z.number().describe('Bytes of sandbox directories `iii worker prune` deletes.'),
      total: z.number().describe('The sum: what `iii worker prune` frees.'),
    })
    .describe('What `iii worker prune` would free now (`iii worker prune --dry-run` lists it).'),
});

export type DfResult = z.infer<typeof dfSchema>;

/** The pages generated from these schemas: the command and its schema. */
export const JSON_SHAPES: { command: string; schema: z.ZodObject }[] = [
  { command: 'iii system df', schema: dfSchema },
];
