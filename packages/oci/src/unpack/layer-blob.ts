import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { LayerCompression } from '../image/media-types.js';
import { compressionMagicLength, detectCompression } from './compression.js';
import { LayerDigestMismatchError, LayerFormatError } from './errors.js';
import type { UnpackLayer } from './layer-source.js';

export interface LayerBlob {
  readonly compression: LayerCompression;
  /** The blob's bytes as stored; verifies size and digest when exhausted (throws on mismatch). */
  readonly chunks: AsyncIterable<Buffer>;
  /** The error the source stream failed with, if it did, so it is not mistaken for a corrupt blob. */
  readonly sourceError: () => unknown;
}

export interface OpenLayerBlobOptions {
  readonly signal: AbortSignal;
  readonly verify: boolean;
  readonly onBytes: (bytes: number) => void;
}

const supportedDigests: Record<string, string> = { sha256: 'sha256', sha512: 'sha512' };

/**
 * Opens a layer blob and peeks at its first bytes to learn the real compression (some registries
 * label zstd or plain tar as gzip). Counting and hashing happen as the bytes pass, so nothing is
 * buffered beyond the few peeked bytes.
 */
export async function openLayerBlob(layer: UnpackLayer, options: OpenLayerBlobOptions): Promise<LayerBlob> {
  const { digest, size, mediaType } = layer.descriptor;
  const hash = options.verify ? hasherFor(digest) : undefined;
  const source: Readable = await layer.open(options.signal);
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;

  const head: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  let sourceError: unknown;
  try {
    while (headLength < compressionMagicLength) {
      const next = await iterator.next();
      if (next.done) {
        ended = true;
        break;
      }
      head.push(next.value);
      headLength += next.value.length;
    }
  } catch (error) {
    source.destroy();
    throw error;
  }

  const detected = detectCompression(Buffer.concat(head), mediaType);
  if (typeof detected !== 'string') {
    source.destroy();
    throw new LayerFormatError(`${detected.unsupported} compression is not supported`, digest);
  }

  async function* chunks(): AsyncGenerator<Buffer> {
    let bytes = 0;
    const account = (chunk: Buffer) => {
      bytes += chunk.length;
      hash?.update(chunk);
      options.onBytes(bytes);
    };
    try {
      for (const chunk of head) {
        account(chunk);
        yield chunk;
      }
      while (!ended) {
        let next: IteratorResult<Buffer>;
        try {
          next = await iterator.next();
        } catch (error) {
          sourceError = error;
          throw error;
        }
        if (next.done) break;
        account(next.value);
        yield next.value;
      }
    } finally {
      // Stops the underlying download or file read when the consumer gives up early.
      await iterator.return?.();
    }
    if (hash) {
      const actual = `${digest.slice(0, digest.indexOf(':'))}:${hash.digest('hex')}`;
      if (actual !== digest || bytes !== size)
        throw new LayerDigestMismatchError(digest, actual, size, bytes);
    }
  }

  return { compression: detected, chunks: chunks(), sourceError: () => sourceError };
}

function hasherFor(digest: string): Hash {
  const algorithm = supportedDigests[digest.slice(0, digest.indexOf(':'))];
  if (!algorithm || !/^[a-z0-9]+:[a-f0-9]+$/.test(digest)) {
    throw new LayerFormatError(`unsupported or malformed digest '${digest}'`, digest);
  }
  return createHash(algorithm);
}
