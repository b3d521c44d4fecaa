import { randomUUID } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';

/** A base image a Dockerfile names: the default of a global `ARG` used in `FROM`, or a `FROM` image. */
export interface BaseImageUse {
  /** The ARG whose default is the image (`BASE_IMAGE`), or undefined for a literal `FROM <image>`. */
  arg?: string;
  /** The image reference as written, e.g. `docker.io/library/node:20-slim`. */
  image: string;
  /** 0-based line of the `ARG` or `FROM` that names it. */
  line: number;
}

const ARG_LINE = /^(\s*ARG\s+)([A-Za-z_][A-Za-z0-9_]*)=(\S+)\s*$/i;
const FROM_LINE = /^(\s*FROM\s+)((?:--\S+\s+)*)(\S+)(.*)$/i;
const ARG_USE = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/;

/**
 * The base images of a Dockerfile: the defaults of global ARGs (before the first FROM) that a FROM
 * uses whole (`FROM ${BASE_IMAGE}`), and images named directly in FROM (not earlier stages, not
 * `scratch`). Each image once, in the order of the file. Continuation lines are not followed: the
 * templates keep ARG and FROM on one line each.
 */
export function dockerfileBaseImages(text: string): BaseImageUse[] {
  const lines = text.split('\n');
  const globalArgs = new Map<string, { value: string; line: number }>();
  const stages = new Set<string>();
  const uses: BaseImageUse[] = [];
  const seen = new Set<string>();
  let sawFrom = false;
  for (const [index, line] of lines.entries()) {
    const arg = ARG_LINE.exec(line);
    if (arg && !sawFrom) {
      globalArgs.set(arg[2] ?? '', { value: unquote(arg[3] ?? ''), line: index });
      continue;
    }
    const from = FROM_LINE.exec(line);
    if (!from) continue;
    sawFrom = true;
    const image = from[3] ?? '';
    const alias = /^\s+AS\s+(\S+)\s*$/i.exec(from[4] ?? '')?.[1];
    const variable = ARG_USE.exec(image);
    if (variable) {
      const name = variable[1] ?? variable[2] ?? '';
      const declared = globalArgs.get(name);
      if (declared && declared.value !== '' && !seen.has(`arg:${name}`)) {
        seen.add(`arg:${name}`);
        uses.push({ arg: name, image: declared.value, line: declared.line });
      }
    } else if (!image.includes('$') && image !== 'scratch' && !stages.has(image.toLowerCase())) {
      uses.push({ image, line: index });
    }
    if (alias) stages.add(alias.toLowerCase());
  }
  return uses;
}

/** Sets the default of a global `ARG` (the first declaration of `arg`); unchanged text if there is none. */
export function setArgDefault(text: string, arg: string, value: string): string {
  const lines = text.split('\n');
  const index = lines.findIndex((line) => ARG_LINE.exec(line)?.[2] === arg);
  if (index < 0) return text;
  lines[index] = (lines[index] ?? '').replace(ARG_LINE, (_m, head: string) => `${head}${arg}=${value}`);
  return lines.join('\n');
}

/** A base image pinned to the digest its tag pointed to. */
export interface PinnedBase {
  image: string;
  /** `<repository>@sha256:…`, as written into the Dockerfile. */
  pinned: string;
  digest: string;
}

/** A base image left as it was, and why. */
export interface UnpinnedBase {
  image: string;
  reason: string;
}

/** What {@link pinBaseImages} did: the base images it pinned to a digest and those it left, with why. */
export interface PinResult {
  pinned: PinnedBase[];
  unpinned: UnpinnedBase[];
}

/** Options of {@link pinBaseImages}: the Dockerfile to rewrite and how to find a reference's current digest. */
export interface PinBaseImagesOptions {
  /** The Dockerfile to rewrite (atomically; untouched when nothing is pinned). */
  dockerfile: string;
  /**
   * The current manifest digest (`sha256:…`) of a reference (of its index, for a multi-platform
   * image), e.g. from a registry client. Rejects when the registry cannot answer.
   */
  resolveDigest: (image: string, signal: AbortSignal) => Promise<string>;
  /** How long all look-ups together may take before the rest are left unpinned. Default 5 s. */
  timeoutMs?: number;
  /** What the comment above a pinned line says pinned it. Default `iii init`. */
  by?: string;
  signal?: AbortSignal;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Pins the base images of a Dockerfile to their current digests: `ARG BASE_IMAGE=<repo>@sha256:…`
 * (or `FROM <repo>@sha256:…`), with the tag it came from in a comment line above. A trailing
 * `# <tag>` on the same line would not be a comment to Docker, which only treats whole lines
 * starting with `#` as comments. Images that already carry a digest are left alone; images whose
 * registry does not answer in time keep their tag and are reported in `unpinned`.
 */
export async function pinBaseImages(options: PinBaseImagesOptions): Promise<PinResult> {
  const text = await readFile(options.dockerfile, 'utf8');
  const uses = dockerfileBaseImages(text).filter((use) => !use.image.includes('@'));
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 5_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const outcomes = await Promise.all(
    uses.map(async (use) => {
      try {
        const digest = await raceAbort(options.resolveDigest(use.image, signal), signal);
        if (!DIGEST.test(digest)) throw new Error(`the registry answered an unusable digest "${digest}"`);
        return { use, digest };
      } catch (err) {
        options.signal?.throwIfAborted();
        const reason = timeout.aborted ? 'no answer in time' : errorMessage(err);
        return { use, reason };
      }
    }),
  );
  const result: PinResult = { pinned: [], unpinned: [] };
  const lines = text.split('\n');
  // From the bottom up, so inserting a comment line keeps the indexes above it valid.
  for (const outcome of [...outcomes].sort((a, b) => b.use.line - a.use.line)) {
    const { use } = outcome;
    if (!('digest' in outcome) || outcome.digest === undefined) {
      result.unpinned.unshift({ image: use.image, reason: outcome.reason ?? 'unknown' });
      continue;
    }
    const pinned = `${repositoryOf(use.image)}@${outcome.digest}`;
    const line = lines[use.line] ?? '';
    lines[use.line] = line.replace(use.image, pinned);
    const indent = /^\s*/.exec(line)?.[0] ?? '';
    lines.splice(use.line, 0, `${indent}# ${use.image}, pinned to its digest by ${options.by ?? 'iii init'}`);
    result.pinned.unshift({ image: use.image, pinned, digest: outcome.digest });
  }
  if (result.pinned.length > 0) await writeAtomically(options.dockerfile, lines.join('\n'));
  return result;
}

/** `docker.io/library/node:20-slim` → `docker.io/library/node` (a registry port is not a tag). */
function repositoryOf(image: string): string {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(0, colon) : image;
}

function unquote(value: string): string {
  return /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}

/** A resolver that ignores its signal still loses the race against it. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, text, { flag: 'wx' });
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
