import { describe, expect, it } from 'vitest';
import { NoMatchingPlatformError } from '../errors.js';
import { hostPlatform, parsePlatform, platformMatches, selectManifest } from './platform.js';
import type { Descriptor, ImageIndex } from './types.js';

const d = (
  n: number,
  platform?: Descriptor['platform'],
  mediaType = 'application/vnd.oci.image.manifest.v1+json',
) =>
  ({
    mediaType,
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    size: 1,
    ...(platform ? { platform } : {}),
  }) as Descriptor;
const index = (manifests: Descriptor[]): ImageIndex => ({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests,
});

describe('platforms', () => {
  it('maps node architectures to OCI ones', () => {
    expect(hostPlatform('x64', 'linux')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm64', 'linux')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(hostPlatform('arm', 'linux', 7)).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
  });

  it('parses --platform values', () => {
    expect(parsePlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(() => parsePlatform('linux')).toThrow('os/arch');
  });

  it('treats arm64 and arm64/v8 as the same platform', () => {
    expect(
      platformMatches(
        { os: 'linux', architecture: 'arm64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ),
    ).toBe(true);
    expect(
      platformMatches(
        { os: 'linux', architecture: 'arm', variant: 'v6' },
        { os: 'linux', architecture: 'arm', variant: 'v7' },
      ),
    ).toBe(false);
  });

  it('selects the matching entry wherever it sits, skipping attestations', async () => {
    const att = {
      ...d(9, { os: 'unknown', architecture: 'unknown' }),
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
    };
    const idx = index([
      d(1, { os: 'linux', architecture: 'arm', variant: 'v7' }),
      att,
      d(2, { os: 'linux', architecture: 'amd64' }),
    ]);
    expect((await selectManifest(idx, { os: 'linux', architecture: 'amd64' }, 'r')).digest).toBe(d(2).digest);
  });

  it('prefers an exact variant', async () => {
    const idx = index([
      d(1, { os: 'linux', architecture: 'arm', variant: 'v6' }),
      d(2, { os: 'linux', architecture: 'arm', variant: 'v7' }),
    ]);
    expect((await selectManifest(idx, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'r')).digest).toBe(
      d(2).digest,
    );
  });

  it('searches nested indexes', async () => {
    const inner = index([d(3, { os: 'linux', architecture: 's390x' })]);
    const outer = index([
      d(1, { os: 'linux', architecture: 'amd64' }),
      d(4, undefined, 'application/vnd.oci.image.index.v1+json'),
    ]);
    const got = await selectManifest(outer, { os: 'linux', architecture: 's390x' }, 'r', async () => inner);
    expect(got.digest).toBe(d(3).digest);
  });

  it('lists the platforms offered when none matches', async () => {
    const idx = index([
      d(1, { os: 'linux', architecture: 'arm', variant: 'v7' }),
      d(2, { os: 'linux', architecture: 'amd64' }),
    ]);
    const err = await selectManifest(idx, { os: 'linux', architecture: 'riscv64' }, 'x/y:1').catch((e) => e);
    expect(err).toBeInstanceOf(NoMatchingPlatformError);
    expect(err.message).toContain('linux/arm/v7, linux/amd64');
    expect(err.code).toBe('NO_MATCHING_PLATFORM');
  });
});
