import { InvalidImageTagError } from './errors.js';

export interface ImageTag {
  /** The reference as given, e.g. `ghcr.io/me/hello:0.1.0`. */
  reference: string;
  /** Everything before the tag, e.g. `ghcr.io/me/hello`. */
  repository: string;
  /** The repository's last path segment, e.g. `hello`: names the local image directory. */
  name: string;
  /** The tag, `latest` when none is given. */
  tag: string;
}

// Docker's reference grammar, reduced to what `-t` accepts (a name and a tag, no digest).
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** Parses the `-t` of `iii worker build`: `[registry/]repository[:tag]`. */
export function parseImageTag(reference: string): ImageTag {
  if (reference.includes('@')) throw new InvalidImageTagError(reference, 'a build tag cannot have a digest');
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  const hasTag = colon > slash;
  const repository = hasTag ? reference.slice(0, colon) : reference;
  const tag = hasTag ? reference.slice(colon + 1) : 'latest';
  if (!TAG.test(tag)) throw new InvalidImageTagError(reference, `"${tag}" is not a valid tag`);

  const parts = repository.split('/');
  // Like Docker: the first part is a registry host if it has a dot or a port, or is localhost.
  const first = parts[0] ?? '';
  const hasHost = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasHost && !HOST.test(first)) {
    throw new InvalidImageTagError(reference, `"${first}" is not a valid registry host`);
  }
  const path = hasHost ? parts.slice(1) : parts;
  for (const part of path) {
    if (!PATH_COMPONENT.test(part)) {
      throw new InvalidImageTagError(
        reference,
        part === ''
          ? 'it has an empty path segment'
          : `"${part}" must be lower case letters, digits and separators`,
      );
    }
  }
  return { reference, repository, name: path[path.length - 1] ?? repository, tag };
}
