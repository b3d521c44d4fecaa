import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecompressor } from './compression.js';
import { DiffIdMismatchError, LayerFormatError, RootfsWriteError, UnpackError } from './errors.js';
import { openLayerBlob } from './layer-blob.js';
import type { UnpackLayer } from './layer-source.js';
import { type LayerWriter, type TarEntryHeader, TruncatedEntryError } from './layer-writer.js';
import { smallFileLimit } from './small-files.js';
import { TarParser } from './tar-parser.js';

export interface ApplyLayerOptions {
  readonly signal: AbortSignal;
  readonly verify: boolean;
  readonly onBytes: (bytes: number) => void;
  /**
   * The digest the uncompressed tar must have (the config's `rootfs.diff_ids` entry): checked
   * once the layer is read, so content cached under it is the content it names.
   */
  readonly diffId?: string;
}

/** Streams one layer blob through decompression and the tar parser into the writer. */
export async function applyLayer(
  layer: UnpackLayer,
  writer: LayerWriter,
  options: ApplyLayerOptions,
): Promise<void> {
  const { digest } = layer.descriptor;
  const blob = await openLayerBlob(layer, options);

  const diffHash = options.diffId?.startsWith('sha256:') ? createHash('sha256') : undefined;
  if (options.diffId !== undefined && !diffHash) {
    throw new LayerFormatError(`unsupported diff_id '${options.diffId}'`, digest);
  }
  let entryError: Error | undefined;
  const fail = (header: TarEntryHeader, error: unknown): unknown => {
    if (error instanceof TruncatedEntryError) return error;
    entryError = error instanceof UnpackError ? error : new RootfsWriteError(header.name, error);
    return entryError;
  };
  const parser = new TarParser({
    wholeBodyLimit: smallFileLimit,
    onTooLarge: (type, size) =>
      new LayerFormatError(`a ${type} tar header of ${size} bytes is larger than any valid one`, digest),
    ...(diffHash ? { hash: diffHash } : {}),
    onEntry: (header, body) => {
      options.signal.throwIfAborted();
      let wait: Promise<void> | undefined;
      try {
        wait = writer.apply(header, body);
      } catch (error) {
        throw fail(header, error);
      }
      return wait?.catch((error: unknown) => {
        throw fail(header, error);
      });
    },
  });

  const stages: NodeJS.ReadWriteStream[] = [];
  if (blob.compression !== 'none') stages.push(createDecompressor(blob.compression));
  try {
    await pipeline([Readable.from(blob.chunks, { objectMode: false }), ...stages, parser], {
      signal: options.signal,
    });
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
  if (diffHash && options.diffId !== undefined) {
    const actual = `sha256:${diffHash.digest('hex')}`;
    if (actual !== options.diffId) throw new DiffIdMismatchError(digest, options.diffId, actual);
  }
}
