import * as z from 'zod';
import { WorkersError } from './errors.js';

/** The default address of the iii worker registry (`$III_API_URL` overrides it). */
export const DEFAULT_III_API_URL = 'https://api.workers.iii.dev';

const downloadReplySchema = z.looseObject({
  type: z.string(),
  name: z.string().min(1),
  version: z.string().optional(),
  image_url: z.string().optional(),
});

/** A worker of the iii worker registry: its name, version and image reference. */
export interface RegistryWorker {
  name: string;
  version: string | undefined;
  image: string;
}

/** An error of the iii worker registry, rendered like the package errors (`code` + `hint`). */
export class WorkerRegistryError extends WorkersError {
  override readonly name = 'WorkerRegistryError';
}

/** `name[@version]` without `/` or `:` is a name in the iii worker registry, not an OCI reference. */
export function isRegistryShorthand(input: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9._+-]+)?$/.test(input) && !input.includes('@sha256');
}

/** Where and how to ask the iii worker registry. */
export interface ResolveShorthandOptions {
  apiUrl?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/**
 * Resolves `name[@version]` through `GET <api>/download/<name>?version=<v|latest>`. Only entries of
 * type `image` can run as container workers.
 */
export async function resolveShorthand(
  input: string,
  opts: ResolveShorthandOptions = {},
): Promise<RegistryWorker> {
  const [name, version] = input.split('@') as [string, string?];
  const api = (opts.apiUrl || DEFAULT_III_API_URL).replace(/\/+$/, '');
  const url = `${api}/download/${encodeURIComponent(name)}?version=${encodeURIComponent(version ?? 'latest')}`;
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(url, {
      headers: { accept: 'application/json' },
      signal: opts.signal ?? null,
    });
  } catch (err) {
    throw new WorkerRegistryError(
      'WORKER_REGISTRY_UNREACHABLE',
      `cannot reach the iii worker registry at ${api}`,
      'Check your network, or set $III_API_URL to the registry to use.',
      { cause: err },
    );
  }
  if (res.status === 404) {
    throw new WorkerRegistryError(
      'WORKER_NOT_IN_REGISTRY',
      `worker "${name}"${version ? ` version ${version}` : ''} not found in the iii worker registry`,
      'Check the name and version; for an OCI image give its full reference, e.g. docker.io/library/busybox.',
    );
  }
  if (!res.ok) {
    throw new WorkerRegistryError(
      'WORKER_REGISTRY_ERROR',
      `the iii worker registry answered HTTP ${res.status} for ${name}`,
      'Try again later.',
    );
  }
  let reply: z.infer<typeof downloadReplySchema>;
  try {
    reply = downloadReplySchema.parse(await res.json());
  } catch (err) {
    throw new WorkerRegistryError(
      'WORKER_REGISTRY_ERROR',
      `the iii worker registry sent an invalid answer for ${name}`,
      'Try again later, or give the image reference directly.',
      { cause: err },
    );
  }
  if (reply.type !== 'image') {
    throw new WorkerRegistryError(
      'WORKER_TYPE_NOT_SUPPORTED',
      `worker "${reply.name}" is of type "${reply.type}", which is not supported by container workers`,
      'Only registry entries of type "image" can be added with `iii worker add`.',
    );
  }
  if (!reply.image_url) {
    throw new WorkerRegistryError(
      'WORKER_REGISTRY_ERROR',
      `the iii worker registry gave no image for ${reply.name}`,
      'Give the image reference directly.',
    );
  }
  return { name: reply.name, version: reply.version, image: reply.image_url };
}
