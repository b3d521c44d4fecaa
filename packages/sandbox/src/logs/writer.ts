import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, logFile } from './files.js';
import { formatMicros, formatRecord, type LogStream, parseRecord } from './record.js';

/**
 * A file of very short lines is mostly framing (time, stream): whatever the output, a file never
 * grows past this many times the limit.
 */
const MAX_FRAMING_FACTOR = 4;

/** Bytes of output (each line and its newline) that a log file holds, without the framing. */
function payloadOf(path: string): number {
  let total = 0;
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    const rec = parseRecord(text);
    if (rec) total += Buffer.byteLength(rec.line) + (rec.partial ? 0 : 1);
  }
  return total;
}

/** Bytes of output one record stands for. */
function payloadBytes(line: string, partial: boolean): number {
  return Buffer.byteLength(line) + (partial ? 0 : 1);
}

function endsWithNewline(path: string, size: number): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

export interface LogWriterOptions {
  /**
   * Rotate a stream's file when the output it holds (the worker's bytes, not the time and stream
   * stored beside each line) would grow past this many bytes. Default 10 MiB.
   */
  maxBytes?: number;
  /** Files kept per stream, the live one included. Default 3. */
  maxFiles?: number;
  /** A line longer than this (in characters) is stored in partial pieces, bounding memory. Default 16 KiB. */
  maxLineLength?: number;
  /** Clock in epoch milliseconds; injectable for tests. */
  now?: () => number;
}

interface StreamFile {
  fd: number | undefined;
  size: number;
  /** Bytes of output in the live file (its size without the framing). */
  payload: number;
  pending: string;
  decoder: StringDecoder;
}

/**
 * Appends a worker's stdout and stderr to rotating JSON-lines files, one record per line with the
 * time it was captured. Writes are synchronous so that records are in the file, in order, as soon
 * as `write` returns: a rotation or a crash of the supervisor cannot lose or reorder what was
 * handed over. Timestamps never go backwards across the two streams, so merging them by time
 * reproduces the order in which lines were captured.
 */
export class LogWriter {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly maxLineLength: number;
  private readonly now: () => number;
  private lastMicros = 0;
  private readonly files: Record<LogStream, StreamFile>;
  private closed = false;

  constructor(dir: string, options: LogWriterOptions = {}) {
    this.dir = dir;
    this.maxBytes = Math.max(1024, options.maxBytes ?? DEFAULT_MAX_BYTES);
    this.maxFiles = Math.max(1, Math.floor(options.maxFiles ?? DEFAULT_MAX_FILES));
    this.maxLineLength = options.maxLineLength ?? 16 * 1024;
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
    const fresh = (): StreamFile => ({
      fd: undefined,
      size: 0,
      payload: 0,
      pending: '',
      decoder: new StringDecoder('utf8'),
    });
    this.files = { stdout: fresh(), stderr: fresh() };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Appends raw output bytes of a stream; complete lines are stored at once, a trailing piece waits. */
  write(stream: LogStream, chunk: Buffer | string): void {
    if (this.closed) return;
    const f = this.files[stream];
    const text = f.pending + (typeof chunk === 'string' ? chunk : f.decoder.write(chunk));
    const parts = text.split('\n');
    f.pending = parts.pop() ?? '';
    let out = '';
    for (const line of parts) out = this.appendLine(stream, out, line);
    while (f.pending.length > this.maxLineLength) {
      out = this.append(stream, out, f.pending.slice(0, this.maxLineLength), true);
      f.pending = f.pending.slice(this.maxLineLength);
    }
    this.flushOut(stream, out);
  }

  /** Stores a stream's unfinished last line as a partial record (the worker exited mid-line). */
  endOfOutput(stream?: LogStream): void {
    for (const s of stream ? [stream] : (['stdout', 'stderr'] as const)) {
      const f = this.files[s];
      const rest = f.pending + f.decoder.end();
      f.pending = '';
      f.decoder = new StringDecoder('utf8');
      if (rest !== '') this.flushOut(s, this.append(s, '', rest, true));
    }
  }

  /**
   * Appends whole lines from another source (e.g. what the worker logged through the SDK) as
   * their own records, without touching a line the worker is in the middle of writing.
   */
  note(stream: LogStream, text: string): void {
    if (this.closed) return;
    let out = '';
    for (const line of text.replace(/\n$/, '').split('\n')) out = this.appendLine(stream, out, line);
    this.flushOut(stream, out);
  }

  close(): void {
    if (this.closed) return;
    this.endOfOutput();
    this.closed = true;
    for (const f of Object.values(this.files)) {
      if (f.fd !== undefined) closeSync(f.fd);
      f.fd = undefined;
    }
  }

  private time(): string {
    // Strictly increasing (in whole microseconds), so the two streams interleave exactly in capture order.
    const us = Math.max(Math.round(this.now() * 1000), this.lastMicros + 1);
    this.lastMicros = us;
    return formatMicros(us);
  }

  /** Adds a complete line, in partial pieces when it is longer than the line limit. */
  private appendLine(stream: LogStream, out: string, line: string): string {
    let rest = line;
    while (rest.length > this.maxLineLength) {
      out = this.append(stream, out, rest.slice(0, this.maxLineLength), true);
      rest = rest.slice(this.maxLineLength);
    }
    return this.append(stream, out, rest, false);
  }

  /** Adds one record to `out`, first writing `out` and rotating if the record would overflow the file. */
  private append(stream: LogStream, out: string, line: string, partial: boolean): string {
    const record = formatRecord({ time: this.time(), stream, line, partial });
    const f = this.open(stream);
    const pendingBytes = Buffer.byteLength(out);
    const recordBytes = Buffer.byteLength(record);
    const payload = payloadBytes(line, partial);
    const full =
      f.payload + payload > this.maxBytes ||
      f.size + pendingBytes + recordBytes > this.maxBytes * MAX_FRAMING_FACTOR;
    if (f.size + pendingBytes > 0 && full) {
      this.flushOut(stream, out);
      this.rotate(stream);
      f.payload = payload;
      return record;
    }
    f.payload += payload;
    return out + record;
  }

  private flushOut(stream: LogStream, out: string): void {
    if (out === '') return;
    const f = this.open(stream);
    const buf = Buffer.from(out);
    let off = 0;
    while (off < buf.length) off += writeSync(f.fd!, buf, off, buf.length - off);
    f.size += buf.length;
  }

  private open(stream: LogStream): StreamFile {
    const f = this.files[stream];
    if (f.fd === undefined) {
      const path = logFile(this.dir, stream);
      f.fd = openSync(path, 'a', 0o600);
      f.size = fstatSync(f.fd).size;
      // Bounded by the framing factor; read once per writer, when a worker starts again.
      // A file made by a rotation starts with what was counted for it already.
      if (f.size > 0) f.payload = payloadOf(path);
      if (f.size > 0 && !endsWithNewline(path, f.size)) {
        // A crash cut the last record short: end it, so the next record is not glued to it.
        f.size += writeSync(f.fd, '\n');
      }
    }
    return f;
  }

  private rotate(stream: LogStream): void {
    const f = this.files[stream];
    if (f.fd !== undefined) closeSync(f.fd);
    f.fd = undefined;
    // Shift stdout.log.N-1 -> .N ... stdout.log -> .1; the oldest falls off the end.
    rmSync(logFile(this.dir, stream, this.maxFiles - 1), { force: true });
    for (let g = this.maxFiles - 2; g >= 0; g--) {
      try {
        renameSync(logFile(this.dir, stream, g), logFile(this.dir, stream, g + 1));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    if (this.maxFiles === 1) rmSync(logFile(this.dir, stream, 1), { force: true });
  }
}
