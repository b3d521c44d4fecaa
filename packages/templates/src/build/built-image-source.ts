import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { parseImageTag } from '../image-tag.js';

const LayoutIndex = z.object({
  manifests: z.array(z.object({ annotations: z.record(z.string(), z.string()).optional() }).passthrough()),
});

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * Where `buildImage` left the image built as `reference` (`name:tag`), as a local image reference
 * (`oci-layout:<dir>:<tag>` or `docker-archive:<file>`), or undefined if it never built it.
 */
export async function builtImageSource(imagesDir: string, reference: string): Promise<string | undefined> {
  let tag: ReturnType<typeof parseImageTag>;
  try {
    tag = parseImageTag(reference);
  } catch {
    return undefined; // Not something `iii worker build -t` accepts, so not something it built.
  }
  const dir = join(resolve(imagesDir), tag.name);
  const index = await readFile(join(dir, 'index.json'), 'utf8').catch(() => undefined);
  if (index !== undefined) {
    const parsed = LayoutIndex.safeParse(parseJson(index));
    if (parsed.success && parsed.data.manifests.some((m) => m.annotations?.[REF_NAME] === tag.tag)) {
      return `oci-layout:${dir}:${tag.tag}`;
    }
  }
  const archive = join(dir, `${tag.tag}.docker.tar`);
  const hasArchive = await access(archive).then(
    () => true,
    () => false,
  );
  return hasArchive ? `docker-archive:${archive}` : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
