import type { Readable } from 'node:stream';
import { InvalidManifestError } from '../errors.js';

/** Reads a small document (manifest, config, index) fully, refusing anything over `limit`. */
export async function readLimited(stream: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      stream.destroy();
      throw new InvalidManifestError(what, `larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Manifests, indexes and configs are small JSON; anything larger is refused rather than buffered. */
export const DOCUMENT_LIMIT = 8 << 20;
