import { IiiError } from '@iii/base';
import type { Platform } from './image/types.js';

/** Base of every error this package throws on purpose: a stable `code` and a `hint` for the user. */
export class OciError extends IiiError {}

/** A string that is not an image reference (`[registry/]repository[:tag][@digest]` or a local source). */
export class InvalidReferenceError extends OciError {
  readonly reference: string;
  constructor(reference: string, reason: string) {
    super(
      'INVALID_REFERENCE',
      `invalid image reference "${reference}": ${reason}`,
      'Use [registry/]repository[:tag][@sha256:digest], e.g. ghcr.io/org/worker:1.0, or oci-layout:<dir>[:tag], oci-archive:<file>[:tag], docker-archive:<file>[:ref].',
    );
    this.reference = reference;
  }
}

/** The registry or source has no image for this reference (repository or tag missing). */
export class ImageNotFoundError extends OciError {
  readonly reference: string;
  constructor(reference: string, detail?: string) {
    super(
      'IMAGE_NOT_FOUND',
      `image ${reference} not found: the repository or tag does not exist${detail ? ` (${detail})` : ''}`,
      'Check the repository name and tag for typos; private repositories may also answer "not found" without credentials (try `docker login <registry>`).',
    );
    this.reference = reference;
  }
}

/** The registry refused the request: authentication required (401) or access denied (403). */
export class UnauthorizedError extends OciError {
  readonly registry: string;
  readonly status: number;
  constructor(registry: string, status: number, detail?: string) {
    super(
      'UNAUTHORIZED',
      `${status === 403 ? 'access denied' : 'authentication required'} by registry ${registry}${detail ? `: ${detail}` : ''}`,
      `Log in with \`docker login ${registry}\` (credentials in ~/.docker/config.json are used), or check that your account can access this repository.`,
    );
    this.registry = registry;
    this.status = status;
  }
}

/** The registry's host name does not resolve. */
export class UnknownHostError extends OciError {
  readonly host: string;
  constructor(host: string, options?: { cause?: unknown }) {
    super(
      'UNKNOWN_HOST',
      `unknown registry host ${host}: the name does not resolve`,
      'Check the registry name in the image reference and your network/DNS settings.',
      options,
    );
    this.host = host;
  }
}

/** The registry cannot be reached: connection refused, reset or timed out. */
export class RegistryUnreachableError extends OciError {
  readonly host: string;
  constructor(host: string, detail: string, options?: { cause?: unknown; hint?: string }) {
    super(
      'REGISTRY_UNREACHABLE',
      `cannot reach registry ${host}: ${detail}`,
      options?.hint ??
        'Check that the registry is up and reachable; for a plain-HTTP registry pass --insecure or add it to $III_INSECURE_REGISTRIES.',
      options,
    );
    this.host = host;
  }
}

/**
 * A registry that went silent: it accepted the connection but never answered, or stopped sending a
 * body, for longer than the client's stall timeout, on every try.
 */
export class RegistryStalledError extends OciError {
  readonly host: string;
  /** What was being read: `layer sha256:…`, `GET /v2/<repo>/manifests/<tag>`… */
  readonly what: string;
  readonly timeoutMs: number;
  readonly tries: number;
  constructor(
    host: string,
    what: string,
    details: {
      timeoutMs: number;
      tries: number;
      headers: boolean;
      received?: number;
      size?: number;
      /** Who went silent: the registry, or its token service (at another host). */
      service?: 'registry' | 'token service';
    },
    options?: { cause?: unknown },
  ) {
    const seconds = `${details.timeoutMs / 1000} s`;
    const where =
      details.received !== undefined && details.size !== undefined
        ? `, stopped at byte ${details.received} of ${details.size}`
        : '';
    super(
      'REGISTRY_STALLED',
      details.headers
        ? `${details.service ?? 'registry'} ${host} accepted the connection but did not answer ${what} within ${seconds} (${details.tries} ${details.tries === 1 ? 'try' : 'tries'})`
        : `${details.service ?? 'registry'} ${host} stalled while sending ${what}: no data for ${seconds} (${details.tries} ${details.tries === 1 ? 'try' : 'tries'}${where})`,
      'The registry or the network to it stopped responding; nothing was stored (a partial layer is kept and resumed by the next pull). Retry later, or allow a slower link with $III_REGISTRY_STALL_TIMEOUT=<seconds>.',
      options,
    );
    this.host = host;
    this.what = what;
    this.timeoutMs = details.timeoutMs;
    this.tries = details.tries;
  }
}

/** The registry sent a whole blob, and it is shorter than the manifest's descriptor says. */
export class BlobTooShortError extends OciError {
  readonly host: string;
  readonly digest: string;
  readonly declared: number;
  readonly actual: number;
  constructor(host: string, what: string, digest: string, declared: number, actual: number) {
    super(
      'BLOB_TOO_SHORT',
      `${what} from registry ${host} is shorter than the manifest declares: ${actual} bytes, manifest says ${declared}`,
      'The image or the registry is corrupt: its manifest describes content the registry does not have. Push the image again; nothing was stored.',
    );
    this.host = host;
    this.digest = digest;
    this.declared = declared;
    this.actual = actual;
  }
}

/** A setting from the environment (or an option) that cannot be used. */
export class InvalidSettingError extends OciError {
  readonly setting: string;
  constructor(setting: string, value: string, expected: string) {
    super(
      'INVALID_SETTING',
      `invalid ${setting} "${value}": ${expected}`,
      `Set ${setting} to ${expected}, or unset it.`,
    );
    this.setting = setting;
  }
}

/** The registry answered with an HTTP error not covered by a more specific error; `status` is its code. */
export class RegistryError extends OciError {
  readonly status: number;
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super(
      'REGISTRY_ERROR',
      message,
      'The registry answered with an error; retry later or check its status.',
      options,
    );
    this.status = status;
  }
}

/** The registry's TLS certificate could not be verified. */
export class TlsError extends OciError {
  readonly host: string;
  constructor(host: string, detail: string, options?: { cause?: unknown }) {
    super(
      'TLS_ERROR',
      `TLS verification failed for registry ${host}: ${detail}`,
      'Pass the registry CA certificate (caFiles / NODE_EXTRA_CA_CERTS), or use --insecure only for a registry you trust.',
      options,
    );
    this.host = host;
  }
}

/** Content whose sha256 is not the digest that named it: a corrupt download or a tampered registry. */
export class DigestMismatchError extends OciError {
  readonly expected: string;
  readonly actual: string;
  constructor(expected: string, actual: string, what = 'blob') {
    super(
      'DIGEST_MISMATCH',
      `${what} digest mismatch: expected ${expected}, got ${actual}`,
      'The content was corrupted in transit or the source is tampered with; nothing was stored. Retry, and report it to the registry owner if it persists.',
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** A blob whose byte count is not the size its descriptor states. */
export class SizeMismatchError extends OciError {
  readonly expected: number;
  readonly actual: number;
  constructor(digest: string, expected: number, actual: number) {
    super(
      'SIZE_MISMATCH',
      `blob ${digest} has ${actual} bytes, expected ${expected}`,
      'The content was truncated or corrupted in transit; nothing was stored. Retry the operation.',
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** An image index with no manifest for the wanted platform; `offered` lists the ones it has. */
export class NoMatchingPlatformError extends OciError {
  readonly wanted: Platform;
  readonly offered: Platform[];
  constructor(reference: string, wanted: Platform, offered: Platform[]) {
    const fmt = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');
    super(
      'NO_MATCHING_PLATFORM',
      `image ${reference} has no variant for ${fmt(wanted)}; it offers: ${offered.length ? offered.map(fmt).join(', ') : 'none'}`,
      'Pick one of the offered platforms with --platform os/arch[/variant], or use an image built for this machine.',
    );
    this.wanted = wanted;
    this.offered = offered;
  }
}

/** A manifest of a media type this package does not read (e.g. Docker schema 1). */
export class UnsupportedManifestError extends OciError {
  readonly mediaType: string;
  constructor(mediaType: string, detail?: string) {
    super(
      'UNSUPPORTED_MANIFEST',
      `unsupported manifest type ${mediaType || '(none)'}${detail ? `: ${detail}` : ''}`,
      mediaType.includes('manifest.v1')
        ? 'Docker schema 1 images are obsolete; rebuild or re-push the image with a current docker/buildah/skopeo (schema 2 or OCI).'
        : 'Only OCI image manifests/indexes and Docker schema 2 manifests/lists are supported.',
    );
    this.mediaType = mediaType;
  }
}

/** A manifest, index or image config that does not match its schema. */
export class InvalidManifestError extends OciError {
  constructor(what: string, detail: string) {
    super(
      'INVALID_MANIFEST',
      `invalid ${what}: ${detail}`,
      'The image is malformed; rebuild or re-push it with a standard tool (docker, buildah, skopeo).',
    );
  }
}

/** A local image source (OCI layout, archive, path) that cannot be opened or read. */
export class ImageSourceError extends OciError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super('IMAGE_SOURCE', message, hint, options);
  }
}
