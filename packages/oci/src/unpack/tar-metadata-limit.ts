import type { Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** PAX records and GNU long names are paths and a few attributes: 1 MiB is far more than any needs. */
export const maxTarMetadataBytes = 1024 * 1024;

const block = 512;

/** Typeflags whose body tar-stream buffers whole in memory, by tar-stream's name for them. */
const metadataTypes = new Map([
  [0x78, 'pax-header'], // 'x'
  [0x67, 'pax-global-header'], // 'g'
  [0x4c, 'gnu-long-path'], // 'L'
  [0x4e, 'gnu-long-path'], // 'N' (old GNU)
  [0x4b, 'gnu-long-link-path'], // 'K'
]);

/**
 * A pass-through stage in front of the tar parser that refuses a PAX or GNU long-name header whose
 * body is larger than {@link maxTarMetadataBytes}, before any of that body is read.
 *
 * The parser (tar-stream) buffers such a body whole before it decodes it, so a hostile layer
 * declaring a multi-gigabyte one would exhaust memory before any entry reaches the writer. This
 * stage follows the archive's blocks the way tar-stream 3 does (header, body, padding; a PAX `size`
 * record changes the next entry's body; a zero block is skipped; a directory has no body) and
 * only reads the header blocks: the data is passed on untouched, as the same chunks. If it meets a
 * block that tar-stream would refuse (bad checksum, unknown format, invalid size), it stops checking
 * and lets tar-stream report the error; tar-stream 3 itself refuses such bodies over 4 MiB, which
 * bounds memory even then.
 */
export class TarMetadataLimit extends Transform {
  private readonly onTooLarge: (type: string, size: number) => Error;
  /** Bytes of the current body (and padding) still to pass before the next header. */
  private skip = 0;
  /** A header block split between chunks. */
  private readonly header = Buffer.alloc(block);
  private headerLength = 0;
  /** The PAX body being read (its header's type), to find the `size` record. */
  private pax: { global: boolean; size: number; parts: Buffer[]; length: number } | undefined;
  private paxGlobal: Record<string, string> | undefined;
  private paxLocal: Record<string, string> | undefined;
  private checking = true;
  private readonly hash: Hash | undefined;

  /**
   * `hash`, if given, is fed every byte that passes (the layer's diff ID): hashing here rather than
   * in a stage of its own saves a stream hop per chunk.
   */
  constructor(onTooLarge: (type: string, size: number) => Error, hash?: Hash) {
    super();
    this.onTooLarge = onTooLarge;
    this.hash = hash;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash?.update(chunk);
    if (this.checking) {
      try {
        this.scan(chunk);
      } catch (error) {
        callback(error as Error);
        return;
      }
    }
    callback(null, chunk);
  }

  private scan(chunk: Buffer): void {
    let offset = 0;
    while (this.checking && offset < chunk.length) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, chunk.length - offset);
        if (this.pax) this.collectPax(chunk.subarray(offset, offset + take));
        this.skip -= take;
        offset += take;
        continue;
      }
      if (this.headerLength === 0 && chunk.length - offset >= block) {
        this.onHeader(chunk.subarray(offset, offset + block));
        offset += block;
        continue;
      }
      const take = Math.min(block - this.headerLength, chunk.length - offset);
      chunk.copy(this.header, this.headerLength, offset, offset + take);
      this.headerLength += take;
      offset += take;
      if (this.headerLength === block) {
        this.headerLength = 0;
        this.onHeader(this.header);
      }
    }
  }

  private onHeader(header: Buffer): void {
    const sum = checksum(header);
    if (sum === 8 * 32) return; // a zero block: tar-stream skips it
    if (sum !== decodeOctal(header, 148, 8) || !(isUstar(header) || isGnu(header))) {
      this.checking = false;
      return;
    }
    const typeflag = header[156] as number;
    let size = decodeOctal(header, 124, 12);
    const metadata = metadataTypes.get(typeflag);
    if (metadata !== undefined) {
      if (!(size >= 0)) {
        this.checking = false;
        return;
      }
      if (size > maxTarMetadataBytes) throw this.onTooLarge(metadata, size);
      this.skip = size + padding(size);
      if (typeflag === 0x78 || typeflag === 0x67) {
        this.pax = { global: typeflag === 0x67, size, parts: [], length: 0 };
        if (size === 0) this.endPax();
      }
      return;
    }
    // An entry: a pending PAX header (over the global one) may give its size.
    if (this.paxLocal !== undefined) {
      const record = this.paxLocal.size;
      if (record) size = Number.parseInt(record, 10);
      this.paxLocal = undefined;
    }
    if (!(size >= 0)) {
      this.checking = false;
      return;
    }
    if (size === 0 || isDirectory(header, typeflag)) return;
    this.skip = size + padding(size);
  }

  private collectPax(part: Buffer): void {
    const pax = this.pax as NonNullable<typeof this.pax>;
    const wanted = Math.min(part.length, pax.size - pax.length);
    if (wanted > 0) {
      // Copied: the chunk itself goes on to the parser.
      pax.parts.push(Buffer.from(part.subarray(0, wanted)));
      pax.length += wanted;
    }
    if (pax.length === pax.size) this.endPax();
  }

  private endPax(): void {
    const pax = this.pax as NonNullable<typeof this.pax>;
    this.pax = undefined;
    const records = decodePax(Buffer.concat(pax.parts, pax.length));
    if (pax.global) this.paxGlobal = records;
    else this.paxLocal = this.paxGlobal ? { ...this.paxGlobal, ...records } : records;
  }
}

function padding(size: number): number {
  const rest = size % block;
  return rest === 0 ? 0 : block - rest;
}

function checksum(header: Buffer): number {
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += header[i] as number;
  for (let i = 156; i < block; i++) sum += header[i] as number;
  return sum;
}

// Compared byte by byte: this runs for every header, and a string per header adds up.
const ustarMagic = Buffer.from('ustar\0', 'latin1');
const gnuMagic = Buffer.from('ustar  \0', 'latin1');

function isUstar(header: Buffer): boolean {
  return header.compare(ustarMagic, 0, ustarMagic.length, 257, 263) === 0;
}

function isGnu(header: Buffer): boolean {
  return header.compare(gnuMagic, 0, gnuMagic.length, 257, 265) === 0;
}

/** tar-stream's rule: a plain file whose name ends in '/' is a directory (old tars marked them so). */
function isDirectory(header: Buffer, typeflag: number): boolean {
  if (typeflag === 0x35) return true; // '5'
  if (typeflag !== 0 && typeflag !== 0x30) return false; // NUL or '0': a regular file
  let end = header.indexOf(0);
  if (end === -1 || end > 100) end = 100;
  if (end > 0) return header[end - 1] === 0x2f;
  // An empty name with a ustar prefix decodes as '<prefix>/'.
  return isUstar(header) && header[345] !== 0;
}

/** A numeric field as tar-stream reads it: octal text, or base-256 when the high bit is set. */
function decodeOctal(header: Buffer, offset: number, length: number): number {
  if ((header[offset] as number) & 0x80) return decodeBase256(header.subarray(offset, offset + length));
  const limit = offset + length;
  let start = offset;
  while (start < limit && header[start] === 0x20) start++;
  let end = start;
  while (end < limit && header[end] !== 0x20) end++;
  while (start < end && header[start] === 0) start++;
  if (start === end) return 0;
  // Number.parseInt(field as latin1 text, 8), without making the string: leading white space, a
  // sign, then the octal digits up to the first other byte; no digit at all is NaN.
  while (start < end && isWhiteSpace(header[start] as number)) start++;
  let sign = 1;
  if (header[start] === 0x2b || header[start] === 0x2d) {
    if (header[start] === 0x2d) sign = -1;
    start++;
  }
  let value = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const digit = (header[i] as number) - 0x30;
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

function decodeBase256(field: Buffer): number {
  let positive: boolean;
  if (field[0] === 0x80) positive = true;
  else if (field[0] === 0xff) positive = false;
  else return Number.NaN;
  let sum = 0;
  for (let i = 1; i < field.length; i++) {
    const byte = field[i] as number;
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
