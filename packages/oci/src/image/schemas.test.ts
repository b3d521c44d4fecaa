import { describe, expect, it } from 'vitest';
import { InvalidManifestError, UnsupportedManifestError } from '../errors.js';
import { MediaTypes } from './media-types.js';
import { parseImageConfig, parseManifest } from './schemas.js';

const digest = `sha256:${'b'.repeat(64)}`;
const desc = (mediaType: string) => ({ mediaType, digest, size: 3 });

describe('parseManifest', () => {
  it('reads a Docker schema 2 manifest', () => {
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.dockerManifest,
        config: desc(MediaTypes.dockerConfig),
        layers: [desc(MediaTypes.dockerLayerGzip)],
      }),
    );
    const parsed = parseManifest(bytes);
    expect(parsed.kind).toBe('manifest');
    if (parsed.kind === 'manifest')
      expect(parsed.manifest.layers[0]?.mediaType).toBe(MediaTypes.dockerLayerGzip);
  });

  it('reads an OCI index that omits its mediaType', () => {
    const parsed = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] })));
    expect(parsed.kind).toBe('index');
  });

  it('takes the media type from the transport when the document has none', () => {
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, manifests: [desc(MediaTypes.dockerManifest)] }),
    );
    const parsed = parseManifest(bytes, `${MediaTypes.dockerManifestList}; charset=utf-8`);
    expect(parsed.kind === 'index' && parsed.index.mediaType).toBe(MediaTypes.dockerManifestList);
  });

  it('refuses Docker schema 1 with a hint to re-push', () => {
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x', fsLayers: [] }));
    const err = (() => {
      try {
        parseManifest(bytes, MediaTypes.dockerManifestSchema1Signed);
      } catch (e) {
        return e as UnsupportedManifestError;
      }
    })();
    expect(err).toBeInstanceOf(UnsupportedManifestError);
    expect(err?.hint).toContain('schema 1');
  });

  it('refuses unknown media types and malformed documents', () => {
    expect(() => parseManifest(Buffer.from('{"schemaVersion":2,"mediaType":"text/plain"}'))).toThrow(
      UnsupportedManifestError,
    );
    expect(() => parseManifest(Buffer.from('not json'))).toThrow(InvalidManifestError);
    expect(() =>
      parseManifest(
        Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, layers: [] })),
      ),
    ).toThrow(/config/);
  });
});

describe('parseImageConfig', () => {
  it('normalizes the nulls Docker writes', () => {
    const config = parseImageConfig(
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Env: ['A=1'], Entrypoint: null, Cmd: ['sh'], Labels: null },
          rootfs: { type: 'layers', diff_ids: [digest] },
          history: null,
        }),
      ),
    );
    expect(config.config).toEqual({ Env: ['A=1'], Cmd: ['sh'] });
    expect(config.history).toBeUndefined();
  });

  it('requires rootfs diff_ids', () => {
    expect(() => parseImageConfig(Buffer.from('{"architecture":"amd64","os":"linux"}'))).toThrow(/rootfs/);
  });
});
