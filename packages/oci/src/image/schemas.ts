import { READ_ONCE } from '@iii/base';
import * as z from 'zod';
import { InvalidManifestError, UnsupportedManifestError } from '../errors.js';
import { indexMediaTypes, MediaTypes, manifestMediaTypes } from './media-types.js';
import type { ImageConfig, ImageIndex, ImageManifest } from './types.js';

const digestRegex = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export const platformSchema = z.object({
  os: z.string(),
  architecture: z.string(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
});

export const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: z.string().regex(digestRegex, 'not a digest'),
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: platformSchema.optional(),
  urls: z.array(z.string()).optional(),
  artifactType: z.string().optional(),
});

export const imageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
  subject: descriptorSchema.optional(),
  artifactType: z.string().optional(),
});

export const imageIndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});

const nullableStrings = z.array(z.string()).nullable().optional();
const nullableRecord = z.record(z.string(), z.unknown()).nullable().optional();

export const imageConfigSchema = z.object({
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
  created: z.string().optional(),
  author: z.string().optional(),
  config: z
    .object({
      User: z.string().optional(),
      Env: z.array(z.string()).nullable().optional(),
      Entrypoint: nullableStrings,
      Cmd: nullableStrings,
      WorkingDir: z.string().optional(),
      Labels: z.record(z.string(), z.string()).nullable().optional(),
      ExposedPorts: nullableRecord,
      Volumes: nullableRecord,
      StopSignal: z.string().optional(),
    })
    .passthrough()
    .nullable()
    .optional(),
  rootfs: z.object({ type: z.string(), diff_ids: z.array(z.string()) }),
  history: z
    .array(
      z.object({
        created: z.string().optional(),
        created_by: z.string().optional(),
        author: z.string().optional(),
        comment: z.string().optional(),
        empty_layer: z.boolean().optional(),
      }),
    )
    .nullable()
    .optional(),
});

function parseJson(bytes: Buffer | string, what: string): unknown {
  try {
    return JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (err) {
    throw new InvalidManifestError(what, `not JSON (${(err as Error).message})`);
  }
}

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** A parsed manifest document: an image index, or a single-platform image manifest. */
export type ParsedManifest =
  | { kind: 'index'; index: ImageIndex }
  | { kind: 'manifest'; manifest: ImageManifest };

/**
 * Parses manifest bytes of any supported kind. The media type comes from the transport
 * (Content-Type, descriptor) or, failing that, from the document itself; schema 1 is refused.
 */
export function parseManifest(bytes: Buffer, declaredMediaType?: string): ParsedManifest {
  const json = parseJson(bytes, 'manifest');
  const obj = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  let mediaType = typeof obj.mediaType === 'string' ? obj.mediaType : undefined;
  const declared = declaredMediaType?.split(';')[0]?.trim();
  if (!mediaType && declared && declared !== 'application/json' && declared !== 'application/octet-stream') {
    mediaType = declared;
  }
  if (obj.schemaVersion === 1 || mediaType?.startsWith(MediaTypes.dockerManifestSchema1)) {
    throw new UnsupportedManifestError(mediaType ?? MediaTypes.dockerManifestSchema1, 'Docker schema 1');
  }
  // OCI manifests may omit mediaType: infer from shape.
  if (!mediaType) mediaType = Array.isArray(obj.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
  if (indexMediaTypes.includes(mediaType)) {
    const r = imageIndexSchema.safeParse(obj, READ_ONCE);
    if (!r.success) throw new InvalidManifestError('image index', issues(r.error));
    return { kind: 'index', index: { ...r.data, mediaType } as ImageIndex };
  }
  if (manifestMediaTypes.includes(mediaType)) {
    const r = imageManifestSchema.safeParse(obj, READ_ONCE);
    if (!r.success) throw new InvalidManifestError('image manifest', issues(r.error));
    return { kind: 'manifest', manifest: { ...r.data, mediaType } as ImageManifest };
  }
  throw new UnsupportedManifestError(mediaType);
}

/** Parses and validates image config bytes, normalising the nulls Docker writes into absent fields. */
export function parseImageConfig(bytes: Buffer): ImageConfig {
  const r = imageConfigSchema.safeParse(parseJson(bytes, 'image config'), READ_ONCE);
  if (!r.success) throw new InvalidManifestError('image config', issues(r.error));
  const data = r.data;
  // Normalize nulls that Docker writes into absent fields, so consumers see one shape.
  const { config, history, ...rest } = data;
  const out: ImageConfig = { ...rest };
  if (config) {
    const c: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config)) if (v !== null && v !== undefined) c[k] = v;
    out.config = c as ImageConfig['config'];
  }
  if (history) out.history = history;
  return out;
}
