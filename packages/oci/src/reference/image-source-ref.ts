import { parseReference, type Reference } from './reference.js';

/** Where an image comes from: a registry or one of the local forms skopeo also understands. */
export type ImageSourceRef =
  | { transport: 'registry'; reference: Reference }
  | { transport: 'oci-layout'; path: string; tag?: string }
  | { transport: 'oci-archive'; path: string; tag?: string }
  | { transport: 'docker-archive'; path: string; reference?: string }
  /** A path given without a transport prefix; `detectLocalSource` decides which local form it is. */
  | { transport: 'path'; path: string };

function splitOnce(s: string): [string, string | undefined] {
  const i = s.indexOf(':');
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1) || undefined];
}

/**
 * A string is a plain path when it is written as one (`/x`, `./x`, `../x`, `~/x`, `.`) or names an
 * archive file (`.tar`, `.tar.gz`, `.tgz`); anything else is a registry reference, as in Docker.
 */
export function looksLikePath(input: string): boolean {
  return (
    input === '.' ||
    input === '..' ||
    input.startsWith('/') ||
    input.startsWith('./') ||
    input.startsWith('../') ||
    input.startsWith('~/') ||
    /\.(tar|tar\.gz|tgz|tar\.zst)$/.test(input)
  );
}

/**
 * Parses any image argument: `oci-layout:<dir>[:tag]`, `oci-archive:<file>[:tag]`,
 * `docker-archive:<file>[:ref]`, `docker://ref`, a plain path, or a registry reference.
 * The path of a local form ends at its first ':' (as with skopeo).
 */
export function parseImageSourceRef(input: string): ImageSourceRef {
  for (const transport of ['oci-layout', 'oci-archive', 'docker-archive', 'oci'] as const) {
    if (input.startsWith(`${transport}:`)) {
      const [path, rest] = splitOnce(input.slice(transport.length + 1));
      if (transport === 'docker-archive') return { transport, path, ...(rest ? { reference: rest } : {}) };
      // `oci:` is skopeo's name for an OCI layout directory.
      const t = transport === 'oci' ? 'oci-layout' : transport;
      return { transport: t, path, ...(rest ? { tag: rest } : {}) };
    }
  }
  if (input.startsWith('docker://'))
    return { transport: 'registry', reference: parseReference(input.slice(9)) };
  if (looksLikePath(input)) return { transport: 'path', path: input };
  return { transport: 'registry', reference: parseReference(input) };
}

/** The canonical string of a source reference (inverse of `parseImageSourceRef`). */
export function formatImageSourceRef(ref: ImageSourceRef): string {
  switch (ref.transport) {
    case 'registry':
      return ref.reference.toString();
    case 'oci-layout':
    case 'oci-archive':
      return `${ref.transport}:${ref.path}${ref.tag ? `:${ref.tag}` : ''}`;
    case 'docker-archive':
      return `docker-archive:${ref.path}${ref.reference ? `:${ref.reference}` : ''}`;
    case 'path':
      return ref.path;
  }
}
