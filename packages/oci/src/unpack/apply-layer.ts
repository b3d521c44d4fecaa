import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { createDecompressor } from './compression.js';
import { LayerFormatError, RootfsWriteError, UnpackError } from './errors.js';
import { openLayerBlob } from './layer-blob.js';
import type { UnpackLayer } from './layer-source.js';
import { type LayerWriter, type TarEntryHeader, TruncatedEntryError } from './layer-writer.js';
import { limitTarMetadata } from './tar-metadata-limit.js';

export interface ApplyLayerOptions {
  readonly signal: AbortSignal;
  readonly verify: boolean;
  readonly onBytes: (bytes: number) => void;
}

/** Streams one layer blob through decompression and the tar parser into the writer. */
export async function applyLayer(
  layer: UnpackLayer,
  writer: LayerWriter,
  options: ApplyLayerOptions,
): Promise<void> {
  const { digest } = layer.descriptor;
  const blob = await openLayerBlob(layer, options);

  let entryError: unknown;
  const extract = tar.extract();
  limitTarMetadata(
    extract,
    (type, size) =>
      new LayerFormatError(`a ${type} tar header of ${size} bytes is larger than any valid one`, digest),
  );
  extract.on('entry', (header: TarEntryHeader, stream: Readable, next: (error?: unknown) => void) => {
    if (options.signal.aborted) {
      next(options.signal.reason);
      return;
    }
    writer.apply(header, stream).then(
      () => next(),
      (error: unknown) => {
        if (error instanceof TruncatedEntryError) {
          next(error);
          return;
        }
        entryError = error instanceof UnpackError ? error : new RootfsWriteError(header.name, error);
        next(entryError);
      },
    );
  });

  try {
    if (blob.compression === 'none') {
      await pipeline(blob.chunks, extract, { signal: options.signal });
    } else {
      await pipeline(blob.chunks, createDecompressor(blob.compression), extract, { signal: options.signal });
    }
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason ?? error;
    if (entryError) throw entryError;
    if (blob.sourceError() !== undefined) throw blob.sourceError();
    if (error instanceof UnpackError) throw error;
    // Anything else comes from zlib, fzstd or the tar parser: the blob is not a readable tar.
    throw new LayerFormatError(error instanceof Error ? error.message : String(error), digest, {
      cause: error,
    });
  }
}
