import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { Decompress } from 'fzstd';

type NativeZstdFactory = () => Transform;

function nativeZstd(): NativeZstdFactory | undefined {
  const factory = (zlib as unknown as { createZstdDecompress?: NativeZstdFactory }).createZstdDecompress;
  return typeof factory === 'function' ? factory.bind(zlib) : undefined;
}

/** A streaming zstd decoder: native when the runtime has one, otherwise fzstd wrapped in a Transform. */
export function createZstdDecompressor(): Transform {
  const native = nativeZstd();
  if (native) return native();
  return new FzstdTransform();
}

class FzstdTransform extends Transform {
  private readonly decoder: Decompress;

  constructor() {
    super();
    // fzstd may reuse its window buffer after the callback returns, so every block is copied out.
    this.decoder = new Decompress((data) => {
      if (data.length > 0) this.push(Buffer.from(data));
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}
