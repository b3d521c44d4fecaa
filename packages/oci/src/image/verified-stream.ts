import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError, SizeMismatchError } from '../errors.js';
import type { Descriptor } from './types.js';

/**
 * A pass-through that hashes and counts what flows through it and fails before 'end' when the
 * content does not match the descriptor, so a consumer can never finish on a corrupted blob.
 * `offset`/`initialHash` let a resumed download continue a hash already computed over the prefix.
 */
export function verifyingStream(
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  options: {
    initialHash?: ReturnType<typeof createHash>;
    offset?: number;
    /** Called with the byte count so far after each chunk (progress reporting without another stream). */
    onBytes?: (seen: number) => void;
  } = {},
): Transform {
  const hash = options.initialHash ?? createHash('sha256');
  let seen = options.offset ?? 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > descriptor.size) {
        cb(new SizeMismatchError(descriptor.digest, descriptor.size, seen));
        return;
      }
      hash.update(chunk);
      options.onBytes?.(seen);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (seen !== descriptor.size) {
        cb(new SizeMismatchError(descriptor.digest, descriptor.size, seen));
        return;
      }
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== descriptor.digest) {
        cb(new DigestMismatchError(descriptor.digest, actual));
        return;
      }
      cb();
    },
  });
}
