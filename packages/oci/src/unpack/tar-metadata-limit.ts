import type { Extract } from 'tar-stream';

/** PAX records and GNU long names are paths and a few attributes: 1 MiB is far more than any needs. */
export const maxTarMetadataBytes = 1024 * 1024;

const metadataTypes = new Set(['pax-header', 'pax-global-header', 'gnu-long-path', 'gnu-long-link-path']);

interface ExtractInternals {
  _header: { type?: string | null; size?: number } | null;
  _parse(size: number, onparse: () => void): void;
  destroy(error?: Error): void;
}

/**
 * tar-stream buffers the whole body of a PAX or GNU long-name header in memory, so a hostile layer
 * declaring a multi-gigabyte one could exhaust memory before any limit of ours sees an entry.
 * tar-stream 2.x (final, so its internals do not move) asks `_parse` for each header's body right
 * after decoding the header; refusing there stops the stream before buffering starts.
 */
export function limitTarMetadata(extract: Extract, onTooLarge: (type: string, size: number) => Error): void {
  const internals = extract as unknown as ExtractInternals;
  const parse = internals._parse;
  internals._parse = function limitedParse(this: ExtractInternals, size, onparse) {
    const type = this._header?.type;
    if (type && metadataTypes.has(type) && size > maxTarMetadataBytes && this._header?.size === size) {
      this.destroy(onTooLarge(type, size));
      return;
    }
    parse.call(this, size, onparse);
  };
}
