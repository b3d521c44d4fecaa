import { stat } from 'node:fs/promises';
import { type Image, type ImageStore, type Platform, parseReference, type Reference } from '@iii/oci';

/** `--pull` of `worker add`, as Compose's `pull_policy`. */
export const PULL_POLICIES = ['always', 'missing', 'never'] as const;
/** When `add` asks the registry and when it uses the stored image. */
export type PullPolicy = (typeof PULL_POLICIES)[number];

/** An image the store already held, used instead of asking the registry. */
export interface StoredImage {
  image: Image;
  digest: string;
  /** When its manifest entered the store (RFC 3339), when the file says. */
  pulledAt: string | undefined;
}

function sameReference(name: string, ref: Reference): boolean {
  try {
    return parseReference(name).toString() === ref.toString();
  } catch {
    return false;
  }
}

/**
 * The image of `ref` the store holds, read from the store alone: by digest for a pinned reference,
 * else the index entry recorded under that reference (as written, or the same once normalized) for
 * the platform asked. Undefined when the store has none.
 */
export async function storedImageOf(
  store: ImageStore,
  ref: Reference,
  written: string,
  platform?: Platform,
): Promise<StoredImage | undefined> {
  let digest = ref.digest;
  if (!digest) {
    const entries = (await store.list()).filter(
      (e) => e.name !== undefined && (e.name === written || sameReference(e.name, ref)),
    );
    const entry = entries.find(
      (e) =>
        !platform ||
        !e.descriptor.platform ||
        (e.descriptor.platform.os === platform.os &&
          e.descriptor.platform.architecture === platform.architecture &&
          (platform.variant === undefined || e.descriptor.platform.variant === platform.variant)),
    );
    digest = entry?.descriptor.digest;
  }
  if (!digest) return undefined;
  let image: Image;
  try {
    image = await store.openDigest(digest, written, undefined, platform ? { platform } : {});
  } catch (err) {
    if ((err as { code?: string }).code === 'IMAGE_NOT_FOUND') return undefined;
    throw err;
  }
  const pulled = await stat(store.blobPath(image.digest)).catch(() => undefined);
  return { image, digest: image.digest, pulledAt: pulled?.mtime.toISOString() };
}
