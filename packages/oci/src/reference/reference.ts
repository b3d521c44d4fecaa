import { InvalidReferenceError } from '../errors.js';

/** Docker Hub's canonical name and the host its API really lives on. */
export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

// The grammar of distribution/reference (docker/distribution reference/regexp.go).
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainRe = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|${ipv6})(?::[0-9]+)?$`);
const pathComponentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const NAME_MAX = 255;

/** A parsed, normalized registry reference: `registry/repository[:tag][@digest]`. */
export class Reference {
  readonly registry: string;
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;

  constructor(parts: { registry: string; repository: string; tag?: string; digest?: string }) {
    this.registry = parts.registry;
    this.repository = parts.repository;
    this.tag = parts.tag;
    this.digest = parts.digest;
  }

  /** `registry/repository` */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** What to ask the registry for: the digest when pinned, else the tag. */
  get identifier(): string {
    return this.digest ?? this.tag ?? 'latest';
  }

  /** The fully qualified form; `parseReference(r.toString())` gives an equal reference. */
  toString(): string {
    return `${this.name}${this.tag ? `:${this.tag}` : ''}${this.digest ? `@${this.digest}` : ''}`;
  }

  /** The short form Docker prints (`alpine:3.20`, `org/x:1`, `ghcr.io/o/x:1`). */
  familiar(): string {
    let name = this.name;
    if (this.registry === DOCKER_HUB) {
      name = this.repository.startsWith('library/') ? this.repository.slice(8) : this.repository;
    }
    return `${name}${this.tag ? `:${this.tag}` : ''}${this.digest ? `@${this.digest}` : ''}`;
  }

  /** The same repository at another tag or digest. */
  with(parts: { tag?: string; digest?: string }): Reference {
    return new Reference({ registry: this.registry, repository: this.repository, ...parts });
  }

  equals(other: Reference): boolean {
    return this.toString() === other.toString();
  }
}

function isDomain(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
}

/**
 * Parses an image reference the way Docker does: a missing registry is `docker.io`, a single
 * Docker Hub path gets `library/`, and a reference with neither tag nor digest gets `latest`.
 */
export function parseReference(input: string, options: { defaultTag?: string | false } = {}): Reference {
  const fail = (reason: string): never => {
    throw new InvalidReferenceError(input, reason);
  };
  if (input.length === 0) fail('empty reference');
  if (input.trim() !== input || /\s/.test(input)) fail('contains whitespace');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) fail(`"${digest}" is not a valid digest (expected sha256:<hex>)`);
    const [algo, hex] = digest.split(':') as [string, string];
    if (algo === 'sha256' && !/^[a-f0-9]{64}$/.test(hex))
      fail('a sha256 digest has 64 lowercase hex characters');
  }

  let tag: string | undefined;
  // A tag follows the last ':' unless that colon belongs to a registry port (then a '/' follows it).
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) fail(`"${tag}" is not a valid tag`);
  }

  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0 && isDomain(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    path = rest.slice(slash + 1);
    if (!domainRe.test(registry)) fail(`"${registry}" is not a valid registry host`);
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API_HOST) registry = DOCKER_HUB;

  if (path.length === 0) fail('missing repository name');
  for (const component of path.split('/')) {
    if (!pathComponentRe.test(component)) {
      fail(
        component !== component.toLowerCase()
          ? 'repository name must be lowercase'
          : `"${component}" is not a valid repository path component`,
      );
    }
  }
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (`${registry}/${path}`.length > NAME_MAX) fail(`name longer than ${NAME_MAX} characters`);

  const defaultTag = options.defaultTag === undefined ? 'latest' : options.defaultTag;
  if (!tag && !digest && defaultTag) tag = defaultTag;
  return new Reference({ registry, repository: path, tag, digest });
}
