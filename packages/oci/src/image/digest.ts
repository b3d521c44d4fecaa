import { createHash } from 'node:crypto';
import { InvalidReferenceError } from '../errors.js';

const sha256Hex = /^[a-f0-9]{64}$/;

/** `sha256:<hex>` of some bytes. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Splits and checks a digest; only sha256 is accepted, which is what every registry uses. */
export function parseDigest(digest: string): { algorithm: 'sha256'; hex: string } {
  const [algorithm, hex] = digest.split(':', 2);
  if (algorithm !== 'sha256' || !hex || !sha256Hex.test(hex)) {
    throw new InvalidReferenceError(digest, 'digest must be sha256:<64 lowercase hex characters>');
  }
  return { algorithm, hex };
}
