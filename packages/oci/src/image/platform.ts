import { InvalidReferenceError, NoMatchingPlatformError } from '../errors.js';
import type { Descriptor, ImageIndex, Platform } from './types.js';

const nodeArchToOci: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips64el: 'mips64le',
};

/** The platform of this machine in OCI terms (`process.arch` `x64` is `amd64`). */
export function hostPlatform(
  arch: string = process.arch,
  os: string = process.platform,
  armVersion: unknown = (process.config.variables as Record<string, unknown>).arm_version,
): Platform {
  const architecture = nodeArchToOci[arch] ?? arch;
  const platform: Platform = { os: os === 'win32' ? 'windows' : os, architecture };
  if (architecture === 'arm64') platform.variant = 'v8';
  if (architecture === 'arm' && armVersion) platform.variant = `v${armVersion}`;
  return platform;
}

/** Parses `os/arch[/variant]` as given to `--platform`. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/i.test(p))) {
    throw new InvalidReferenceError(text, 'platform must be os/arch[/variant], e.g. linux/arm64');
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return {
    os: os.toLowerCase(),
    architecture: nodeArchToOci[architecture] ?? architecture.toLowerCase(),
    ...(variant ? { variant } : {}),
  };
}

/** A platform as `os/architecture[/variant]`, e.g. `linux/arm64/v8`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Variants that mean the same thing as no variant (arm64 is v8, amd64 is v1). */
function normalizedVariant(p: Platform): string {
  if (p.architecture === 'arm64' && (!p.variant || p.variant === 'v8')) return 'v8';
  if (p.architecture === 'amd64' && (!p.variant || p.variant === 'v1')) return '';
  return p.variant ?? '';
}

/** Whether `candidate` runs on `wanted`; a wanted platform without a variant accepts any variant. */
export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  if (!wanted.variant) return true;
  return normalizedVariant(candidate) === normalizedVariant(wanted);
}

/** Attestations and other non-runnable entries buildkit puts into indexes. */
function isRunnable(d: Descriptor): boolean {
  if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return false;
  return !(d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');
}

/**
 * Picks the manifest for `wanted` from an index, whatever its position: an exact variant beats a
 * variant-less match; entries that are themselves indexes are searched through `openIndex`.
 * Throws NoMatchingPlatformError listing what the image offers.
 */
export async function selectManifest(
  index: ImageIndex,
  wanted: Platform,
  reference: string,
  openIndex?: (d: Descriptor) => Promise<ImageIndex>,
): Promise<Descriptor> {
  const offered: Platform[] = [];
  const search = async (idx: ImageIndex, depth: number): Promise<Descriptor | undefined> => {
    const runnable = idx.manifests.filter(isRunnable);
    const leaves = runnable.filter((d) => d.platform);
    for (const d of leaves) if (d.platform) offered.push(d.platform);
    const matches = leaves.filter((d) => d.platform && platformMatches(d.platform, wanted));
    const exact = matches.find((d) => d.platform?.variant === wanted.variant);
    if (exact ?? matches[0]) return exact ?? matches[0];
    if (openIndex && depth < 4) {
      for (const d of runnable) {
        if (d.mediaType.includes('index') || d.mediaType.includes('manifest.list')) {
          const found = await search(await openIndex(d), depth + 1);
          if (found) return found;
        }
      }
    }
    return undefined;
  };
  const found = await search(index, 0);
  if (found) return found;
  // An index whose single entry carries no platform (e.g. an oci-layout index) is that image.
  const noPlatform = index.manifests.filter((d) => isRunnable(d) && !d.platform);
  if (noPlatform.length === 1 && offered.length === 0) return noPlatform[0]!;
  throw new NoMatchingPlatformError(reference, wanted, offered);
}
