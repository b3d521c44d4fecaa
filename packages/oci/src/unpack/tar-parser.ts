import type { Hash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';

/** PAX records and GNU long names are paths and a few attributes: 1 MiB is far more than any needs. */
export const maxTarMetadataBytes = 1024 * 1024;

/** The header fields of a tar entry, decoded as tar-stream 3 decodes them. */
export interface TarEntryHeader {
  name: string;
  type?: string | null | undefined;
  mode?: number | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
  size?: number | undefined;
  mtime?: Date | undefined;
  linkname?: string | null | undefined;
  devmajor?: number | undefined;
  devminor?: number | undefined;
  /** The entry's PAX records (over the global ones), or null without any. */
  pax?: Record<string, string> | null | undefined;
}

/**
 * The content of an entry: the whole of it when it is at most `wholeBodyLimit` bytes (empty for
 * an entry without content), else a stream of it.
 */
export type TarEntryBody = Buffer | Readable;

/**
 * Called for each entry; the next entry is read once the returned promise settles (right away when
 * nothing is returned). A streamed body must be read to its end (or the promise rejected).
 */
export type OnTarEntry = (header: TarEntryHeader, body: TarEntryBody) => Promise<void> | undefined;

export interface TarParserOptions {
  readonly onEntry: OnTarEntry;
  /** Bodies up to this size are handed over whole, as one Buffer. */
  readonly wholeBodyLimit: number;
  /** The error for a PAX or GNU long-name header larger than {@link maxTarMetadataBytes}. */
  readonly onTooLarge: (type: string, size: number) => Error;
  /** Fed every byte of the archive (the layer's diff ID). */
  readonly hash?: Hash;
}

const block = 512;
const empty = Buffer.alloc(0);

const header = 0;
const metadata = 1;
const whole = 2;
const stream = 3;
const skip = 4;
type Phase = typeof header | typeof metadata | typeof whole | typeof stream | typeof skip;

/**
 * A tar parser written for the unpack: small entries are handed over whole, as one Buffer (a
 * slice of the decompressed chunk when the entry lies within it), with no stream, no events and
 * no promise per entry; only large files are streamed, with backpressure. An image of 20,000
 * small files spent most of its unpack time in tar-stream's per-entry streams and callbacks.
 *
 * It reads what tar-stream 3 reads, the same way (the unpack's tests compare the result with
 * umoci's): ustar and GNU headers, the ustar prefix, GNU long names, PAX records (a PAX `size`,
 * `path` and `linkpath` override the header; global records apply only under a local PAX header,
 * as in tar-stream), base-256 numbers, zero blocks skipped, a directory never has a body. Unlike
 * tar-stream it refuses a PAX or GNU long-name body over {@link maxTarMetadataBytes} before
 * reading any of it, so a hostile layer declaring a huge one cannot exhaust memory.
 */
export class TarParser extends Writable {
  private readonly options: TarParserOptions;
  private phase: Phase = header;
  /** Bytes of the current body (or padding, in `skip`) still to come. */
  private remaining = 0;
  /** Padding after the current body. */
  private padding = 0;
  /** A header block split between chunks. */
  private readonly headerBlock = Buffer.alloc(block);
  private headerLength = 0;
  /** A body (metadata or whole) split between chunks. */
  private parts: Buffer[] = [];
  private partsLength = 0;
  /** The entry whose body is being read, or the metadata header's type in `metadata`. */
  private entry: TarEntryHeader | undefined;
  private metadataType = '';
  private gnuLongPath: string | undefined;
  private gnuLongLinkPath: string | undefined;
  private pax: Record<string, string> | undefined;
  private paxGlobal: Record<string, string> | undefined;
  /** The streamed body being read, what its consumer returned, and how it failed. */
  private body: Readable | undefined;
  private bodyDone: Promise<void> | undefined;
  private bodyFailure: { error: unknown } | undefined;
  /** Resolves the wait for the body's consumer to want more. */
  private wake: (() => void) | undefined;

  constructor(options: TarParserOptions) {
    super();
    this.options = options;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // Parsed on the next tick rather than inside the write: the decompressor hands each chunk over
    // before it starts inflating the next, so this way the thread pool inflates the next chunk while
    // this one is hashed and parsed, instead of waiting for it.
    process.nextTick(() => {
      this.options.hash?.update(chunk);
      this.consume(chunk, 0, callback);
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    const clean = this.phase === header && this.headerLength === 0;
    callback(clean ? null : new Error('Unexpected end of data'));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // The consumer of a body cut short sees the stream fail (and reports it as truncated).
    this.body?.destroy(error ?? new Error('the tar stream was closed in the middle of an entry'));
    this.body = undefined;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    callback(error);
  }

  /**
   * Parses `chunk` from `offset` on; calls `callback` once all of it is consumed. Waiting for an
   * entry's consumer returns, and the wait's continuation picks up where it left.
   */
  private consume(chunk: Buffer, from: number, callback: (error?: Error | null) => void): void {
    if (this.destroyed) return;
    const resume = (at: number) => (wait: Promise<void>) =>
      wait.then(
        () => this.consume(chunk, at, callback),
        (error: unknown) => {
          if (!this.destroyed) callback(error as Error);
        },
      );
    let offset = from;
    try {
      while (offset < chunk.length) {
        const available = chunk.length - offset;
        switch (this.phase) {
          case header: {
            let block_: Buffer;
            if (this.headerLength === 0 && available >= block) {
              block_ = chunk.subarray(offset, offset + block);
              offset += block;
            } else {
              const take = Math.min(block - this.headerLength, available);
              chunk.copy(this.headerBlock, this.headerLength, offset, offset + take);
              this.headerLength += take;
              offset += take;
              if (this.headerLength < block) break;
              this.headerLength = 0;
              block_ = this.headerBlock;
            }
            const wait = this.onHeader(block_);
            if (wait) return void resume(offset)(wait);
            break;
          }
          case metadata:
          case whole: {
            const take = Math.min(this.remaining, available);
            const part = chunk.subarray(offset, offset + take);
            offset += take;
            this.remaining -= take;
            if (this.remaining > 0) {
              // Copied: the chunk is not kept past this call.
              this.parts.push(Buffer.from(part));
              this.partsLength += take;
              break;
            }
            let content = part;
            if (this.parts.length > 0) {
              this.parts.push(part);
              content = Buffer.concat(this.parts, this.partsLength + take);
              this.parts = [];
              this.partsLength = 0;
            }
            const entry = this.entry;
            this.toPadding();
            if (entry === undefined) {
              this.onMetadata(content);
              break;
            }
            this.entry = undefined;
            const wait = this.options.onEntry(entry, content);
            if (wait) return void resume(offset)(wait);
            break;
          }
          case stream: {
            if (this.bodyFailure) throw this.bodyFailure.error;
            const body = this.body as Readable;
            const take = Math.min(this.remaining, available);
            const more = body.push(chunk.subarray(offset, offset + take));
            offset += take;
            this.remaining -= take;
            if (this.remaining === 0) {
              body.push(null);
              const done = this.bodyDone as Promise<void>;
              this.body = undefined;
              this.bodyDone = undefined;
              this.toPadding();
              return void resume(offset)(done);
            }
            if (!more) return void resume(offset)(this.bodyWanted());
            break;
          }
          case skip: {
            const take = Math.min(this.remaining, available);
            offset += take;
            this.remaining -= take;
            if (this.remaining === 0) this.phase = header;
            break;
          }
        }
      }
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback();
  }

  /** After a body: its padding to the next block, if any. */
  private toPadding(): void {
    this.remaining = this.padding;
    this.phase = this.padding > 0 ? skip : header;
  }

  /** Resolves when the streamed body's consumer wants more, or it failed. */
  private bodyWanted(): Promise<void> {
    if (this.bodyFailure) return Promise.reject(this.bodyFailure.error);
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private onHeader(buf: Buffer): Promise<void> | undefined {
    const sum = checksum(buf);
    if (sum === 8 * 32) return undefined; // a zero block (the end of the archive): skipped
    if (sum !== decodeNumber(buf, 148, 8)) {
      throw new Error('Invalid tar header. Maybe the tar is corrupted or it needs to be gunzipped?');
    }
    const ustar = isUstar(buf);
    if (!ustar && !isGnu(buf)) throw new Error('Invalid tar header: unknown format.');
    let typeflag = buf[156] === 0 ? 0 : (buf[156] as number) - 0x30;
    let name = decodeString(buf, 0, 100);
    if (ustar && buf[345] !== 0) name = `${decodeString(buf, 345, 155)}/${name}`;
    // Old tars mark a directory as a plain file whose name ends in '/'.
    if (typeflag === 0 && name.endsWith('/')) typeflag = 5;
    const type = typeName(typeflag);
    let size = decodeNumber(buf, 124, 12);

    if (
      type === 'pax-header' ||
      type === 'pax-global-header' ||
      type === 'gnu-long-path' ||
      type === 'gnu-long-link-path'
    ) {
      if (!(size !== undefined && size >= 0)) throw new Error('Invalid header');
      if (size > maxTarMetadataBytes) throw this.options.onTooLarge(type, size);
      this.metadataType = type;
      this.entry = undefined;
      this.padding = overflow(size);
      if (size === 0) {
        this.onMetadata(empty);
        this.toPadding();
        return undefined;
      }
      this.phase = metadata;
      this.remaining = size;
      return undefined;
    }

    const entry: TarEntryHeader = {
      name,
      type,
      mode: decodeNumber(buf, 100, 8),
      uid: decodeNumber(buf, 108, 8),
      gid: decodeNumber(buf, 116, 8),
      size,
      mtime: new Date(1000 * (decodeNumber(buf, 136, 12) ?? 0)),
      linkname: buf[157] === 0 ? null : decodeString(buf, 157, 100),
      devmajor: decodeNumber(buf, 329, 8),
      devminor: decodeNumber(buf, 337, 8),
      pax: null,
    };
    if (this.gnuLongPath) entry.name = this.gnuLongPath;
    if (this.gnuLongLinkPath) entry.linkname = this.gnuLongLinkPath;
    this.gnuLongPath = undefined;
    this.gnuLongLinkPath = undefined;
    const pax = this.pax;
    if (pax) {
      if (pax.path) entry.name = pax.path;
      if (pax.linkpath) entry.linkname = pax.linkpath;
      if (pax.size) entry.size = Number.parseInt(pax.size, 10);
      entry.pax = pax;
      this.pax = undefined;
      size = entry.size;
    }
    if (!(size !== undefined && size >= 0)) throw new Error('Invalid header');

    if (size === 0 || type === 'directory') return this.options.onEntry(entry, empty);
    this.padding = overflow(size);
    this.remaining = size;
    if (size <= this.options.wholeBodyLimit) {
      this.entry = entry;
      this.phase = whole;
      return undefined;
    }
    this.startBody(entry);
    return undefined;
  }

  private startBody(entry: TarEntryHeader): void {
    const body = new Readable({
      highWaterMark: 256 * 1024,
      read: () => {
        const wake = this.wake;
        this.wake = undefined;
        wake?.();
      },
    });
    // Destroyed with the parser before its consumer listens: the consumer finds it destroyed.
    body.on('error', () => {});
    this.body = body;
    this.bodyFailure = undefined;
    this.phase = stream;
    const done = this.options.onEntry(entry, body) ?? Promise.resolve();
    // A consumer that fails mid-body stops the parser at once rather than at the body's end.
    done.catch((error: unknown) => {
      this.bodyFailure = { error };
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    });
    this.bodyDone = done;
  }

  private onMetadata(content: Buffer): void {
    switch (this.metadataType) {
      case 'gnu-long-path':
        this.gnuLongPath = decodeString(content, 0, content.length);
        break;
      case 'gnu-long-link-path':
        this.gnuLongLinkPath = decodeString(content, 0, content.length);
        break;
      case 'pax-global-header':
        this.paxGlobal = validatePax(decodePax(content));
        break;
      case 'pax-header':
        this.pax = this.paxGlobal
          ? { ...this.paxGlobal, ...validatePax(decodePax(content)) }
          : validatePax(decodePax(content));
        break;
    }
  }
}

function overflow(size: number): number {
  const rest = size % block;
  return rest === 0 ? 0 : block - rest;
}

function typeName(flag: number): string | null {
  switch (flag) {
    case 0:
      return 'file';
    case 1:
      return 'link';
    case 2:
      return 'symlink';
    case 3:
      return 'character-device';
    case 4:
      return 'block-device';
    case 5:
      return 'directory';
    case 6:
      return 'fifo';
    case 7:
      return 'contiguous-file';
    case 72:
      return 'pax-header';
    case 55:
      return 'pax-global-header';
    case 27:
      return 'gnu-long-link-path';
    case 28:
    case 30:
      return 'gnu-long-path';
  }
  return null;
}

function checksum(buf: Buffer): number {
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += buf[i] as number;
  for (let i = 156; i < block; i++) sum += buf[i] as number;
  return sum;
}

// Compared byte by byte: this runs for every header, and a string per header adds up.
const ustarMagic = Buffer.from('ustar\0', 'latin1');
const gnuMagic = Buffer.from('ustar  \0', 'latin1');

function isUstar(buf: Buffer): boolean {
  return buf.compare(ustarMagic, 0, ustarMagic.length, 257, 263) === 0;
}

/** 'ustar ' and the version ' \0'. */
function isGnu(buf: Buffer): boolean {
  return buf.compare(gnuMagic, 0, gnuMagic.length, 257, 265) === 0;
}

/** A NUL-terminated UTF-8 field. */
function decodeString(buf: Buffer, offset: number, length: number): string {
  let end = offset;
  const limit = offset + length;
  while (end < limit && buf[end] !== 0) end++;
  return buf.toString('utf8', offset, end);
}

/**
 * A numeric field as tar-stream reads it: base-256 when the high bit is set, else octal text as
 * Number.parseInt reads it (leading spaces and NULs skipped, up to the next space), decoded without
 * making a string. undefined where tar-stream gives null (a base-256 field of unknown sign).
 */
function decodeNumber(buf: Buffer, offset: number, length: number): number | undefined {
  if ((buf[offset] as number) & 0x80) return decodeBase256(buf, offset, length);
  const limit = offset + length;
  let start = offset;
  while (start < limit && buf[start] === 0x20) start++;
  let end = start;
  while (end < limit && buf[end] !== 0x20) end++;
  while (start < end && buf[start] === 0) start++;
  if (start === end) return 0;
  // Number.parseInt(field, 8): leading white space, a sign, then octal digits up to the first other byte.
  while (start < end && isWhiteSpace(buf[start] as number)) start++;
  let sign = 1;
  if (buf[start] === 0x2b || buf[start] === 0x2d) {
    if (buf[start] === 0x2d) sign = -1;
    start++;
  }
  let value = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const digit = (buf[i] as number) - 0x30;
    if (digit < 0 || digit > 7) break;
    value = value * 8 + digit;
    digits++;
  }
  return digits === 0 ? Number.NaN : sign * value;
}

/** What Number.parseInt skips at the start of a latin1 string: tab to CR, space, no-break space. */
function isWhiteSpace(byte: number): boolean {
  return (byte >= 0x09 && byte <= 0x0d) || byte === 0x20 || byte === 0xa0;
}

function decodeBase256(buf: Buffer, offset: number, length: number): number | undefined {
  let positive: boolean;
  if (buf[offset] === 0x80) positive = true;
  else if (buf[offset] === 0xff) positive = false;
  else return undefined;
  let sum = 0;
  for (let i = offset + 1; i < offset + length; i++) {
    const byte = buf[i] as number;
    sum = sum * 256 + (positive ? byte : 0xff - byte);
  }
  return positive ? sum : -(sum + 1);
}

/** PAX records (`<length> <key>=<value>\n`), decoded as tar-stream decodes them. */
function decodePax(body: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let rest = body;
  while (rest.length > 0) {
    let space = 0;
    while (space < rest.length && rest[space] !== 0x20) space++;
    const length = Number.parseInt(rest.subarray(0, space).toString('utf8'), 10);
    if (!length) return records;
    const record = rest.subarray(space + 1, length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals === -1) return records;
    records[record.slice(0, equals)] = record.slice(equals + 1);
    rest = rest.subarray(length);
  }
  return records;
}

function validatePax(records: Record<string, string>): Record<string, string> {
  if (records.path?.includes('\0') || records.linkpath?.includes('\0')) {
    throw new Error('Invalid tar header: pax path contains a null byte.');
  }
  return records;
}
