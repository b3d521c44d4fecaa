import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestRegistry } from './registry.ts';
import { requireTools } from './require-tools.ts';
import { runCommand } from './run-command.ts';

/** The parts of a `TestRegistry` skopeo needs: how to reach it and how to log in. */
export type SkopeoRegistry = Pick<TestRegistry, 'flavor' | 'username' | 'password' | 'certDir'>;

export interface SkopeoAuthOptions {
  /** Send no credentials even though the registry has an account (tests anonymous access). */
  anonymous?: boolean;
}

/** `docker://127.0.0.1:PORT/<repoAndTag>`: a skopeo reference into a test registry. */
export function registryRef(registry: Pick<TestRegistry, 'host'>, repoAndTag: string): string {
  return `docker://${registry.host}/${repoAndTag}`;
}

/**
 * skopeo flags for one side of a transfer to a test registry: TLS trust (`--cert-dir` with the
 * self-signed CA, or `--tls-verify=false` for the plain-HTTP flavors) and credentials.
 * `side` is `src`/`dest` for `copy`, or omitted for `inspect`.
 */
export function skopeoRegistryArgs(
  registry: SkopeoRegistry,
  side?: 'src' | 'dest',
  options: SkopeoAuthOptions = {},
): string[] {
  const flag = (name: string) => (side ? `--${side}-${name}` : `--${name}`);
  const args = registry.certDir
    ? [`${flag('cert-dir')}=${registry.certDir}`]
    : [`${flag('tls-verify')}=false`];
  if (options.anonymous || !registry.username) {
    // Ignore any credentials the machine has stored for 127.0.0.1 (~/.docker/config.json, auth.json).
    args.push(flag('no-creds'));
  } else {
    args.push(`${flag('creds')}=${registry.username}:${registry.password ?? ''}`);
  }
  return args;
}

export interface SkopeoCopyOptions {
  /** Registry behind `src`/`dest` when it is a `docker://` reference into a test registry. */
  srcRegistry?: SkopeoRegistry;
  destRegistry?: SkopeoRegistry;
  srcAnonymous?: boolean;
  /** Manifest format to write: OCI or Docker schema 2. Default: keep the source's. */
  format?: 'oci' | 'v2s2';
  /**
   * Recompress layers to write. Default: keep the source's. (skopeo 1.9 cannot write uncompressed layers
   * to a registry or `oci:`; the `busybox-uncompressed` fixture is made through `dir:`.)
   */
  compress?: 'gzip' | 'zstd';
  /** Copy every image of an index (`--all`), not only the host's platform. */
  all?: boolean;
  /** Extra skopeo copy flags. */
  args?: string[];
  signal?: AbortSignal;
}

/**
 * `skopeo copy` between any two transports (`docker://`, `oci:`, `oci-archive:`, `docker-archive:`), with
 * the right TLS/auth flags for test registries. Returns the digest of the manifest written.
 */
export async function skopeoCopy(
  src: string,
  dest: string,
  options: SkopeoCopyOptions = {},
): Promise<string> {
  requireTools(['skopeo'], {});
  const args = ['--insecure-policy', 'copy', '--quiet'];
  if (options.srcRegistry) {
    args.push(...skopeoRegistryArgs(options.srcRegistry, 'src', { anonymous: options.srcAnonymous }));
  }
  if (options.destRegistry) args.push(...skopeoRegistryArgs(options.destRegistry, 'dest'));
  if (options.format) args.push('--format', options.format);
  if (options.compress) args.push('--dest-compress', '--dest-compress-format', options.compress);
  if (options.all) args.push('--all');
  args.push(...(options.args ?? []));
  const scratch = await mkdtemp(join(tmpdir(), 'iii-skopeo-'));
  try {
    const digestFile = join(scratch, 'digest');
    await runCommand('skopeo', [...args, '--digestfile', digestFile, src, dest], { signal: options.signal });
    return (await readFile(digestFile, 'utf8')).trim();
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export interface SkopeoInspectOptions {
  registry?: SkopeoRegistry;
  anonymous?: boolean;
  /** `raw`: the manifest (or index) exactly as stored; `config`: the image config; default: skopeo's summary. */
  mode?: 'summary' | 'raw' | 'config';
  signal?: AbortSignal;
}

/** `skopeo inspect` of any reference; returns the parsed JSON. */
export async function skopeoInspect(ref: string, options: SkopeoInspectOptions = {}): Promise<unknown> {
  requireTools(['skopeo'], {});
  const args = ['inspect'];
  if (options.registry)
    args.push(...skopeoRegistryArgs(options.registry, undefined, { anonymous: options.anonymous }));
  if (options.mode === 'raw') args.push('--raw');
  if (options.mode === 'config') args.push('--config');
  const out = await runCommand('skopeo', [...args, ref], { signal: options.signal });
  return JSON.parse(out) as unknown;
}
