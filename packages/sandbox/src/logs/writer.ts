import { EventEmitter } from 'node:events';
import { type FileHandle, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, logFile } from './files.js';
import { formatMicros, formatRecord, type LogStream, parseRecord } from './record.js';

/**
 * A file of very short lines is mostly framing (time, stream): whatever the output, a file never
 * grows past this many times the limit.
 */
const MAX_FRAMING_FACTOR = 4;

/** Bytes of output (each line and its newline) that a log file holds, without the framing. */
async function payloadOf(path: string): Promise<number> {
  let total = 0;
  for (const text of (await readFile(path, 'utf8')).split('\n')) {
    const rec = parseRecord(text);
    if (rec) total += payloadBytes(rec.line, rec.partial);
  }
  return total;
}

/** Bytes of output one record stands for. */
function payloadBytes(line: string, partial: boolean): number {
  return Buffer.byteLength(line) + (partial ? 0 : 1);
}

/** Options of {@link LogWriter}: when to rotate a stream's file and how many files to keep. */
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
  /**
   * Records (in characters, both streams) waiting for the disk above which `write` returns false, so
   * the caller pauses its source until `drain`. Default 1 MiB.
   */
  highWaterMark?: number;
  /**
   * Called when the disk refuses a write (full, gone); the records of that write are lost, later ones
   * are tried again. Default: ignored, so a worker's output never takes its supervisor down.
   */
  onError?: (err: Error) => void;
  /** Clock in epoch milliseconds; injectable for tests. */
  now?: () => number;
}

interface QueuedRecord {
  text: string;
  payload: number;
}

interface StreamFile {
  handle: FileHandle | undefined;
  /** Bytes in the live file, once it is open. */
  size: number;
  /** Bytes of output in the live file (its size without the framing). */
  payload: number;
  /** The unfinished last line of the worker's output. */
  pending: string;
  decoder: StringDecoder;
  /** Formatted records not yet handed to the disk, in capture order, with the output each stands for. */
  queue: QueuedRecord[];
  queuedChars: number;
  /** The stream's one running drain: records reach the file in order, one write at a time. */
  draining: Promise<void> | undefined;
}

/**
 * Appends a worker's stdout and stderr to rotating JSON-lines files, one record per line with the
 * time it was captured. `write` and `note` only format and queue: the disk is written asynchronously,
 * one stream at a time in capture order, so a slow disk never holds up the event loop of the process
 * that captures the output. A stream's file is rotated only after its last write, so readers following
 * it lose nothing. `flush` (and `close`) resolve once everything handed over is in the files.
 * Timestamps never go backwards across the two streams, so merging them by time reproduces the order
 * in which lines were captured.
 *
 * Events: `drain` once the records waiting for the disk are back under `highWaterMark` after `write`
 * returned false.
 */
export class LogWriter extends EventEmitter<{ drain: [] }> {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly maxLineLength: number;
  private readonly highWaterMark: number;
  private readonly onError: (err: Error) => void;
  private readonly now: () => number;
  private lastMicros = 0;
  private readonly files: Record<LogStream, StreamFile>;
  private dirMade: Promise<unknown> | undefined;
  private needDrain = false;
  private closed = false;

  constructor(dir: string, options: LogWriterOptions = {}) {
    super();
    this.dir = dir;
    this.maxBytes = Math.max(1024, options.maxBytes ?? DEFAULT_MAX_BYTES);
    this.maxFiles = Math.max(1, Math.floor(options.maxFiles ?? DEFAULT_MAX_FILES));
    this.maxLineLength = options.maxLineLength ?? 16 * 1024;
    this.highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.onError = options.onError ?? (() => {});
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
    const fresh = (): StreamFile => ({
      handle: undefined,
      size: 0,
      payload: 0,
      pending: '',
      decoder: new StringDecoder('utf8'),
      queue: [],
      queuedChars: 0,
      draining: undefined,
    });
    this.files = { stdout: fresh(), stderr: fresh() };
  }

  /**
   * Appends raw output bytes of a stream; complete lines are queued at once, a trailing piece waits.
   * Returns false when the records waiting for the disk passed `highWaterMark`: pause the source
   * until `drain`.
   */
  write(stream: LogStream, chunk: Buffer | string): boolean {
    if (this.closed) return true;
    const f = this.files[stream];
    const text = f.pending + (typeof chunk === 'string' ? chunk : f.decoder.write(chunk));
    const parts = text.split('\n');
    f.pending = parts.pop() ?? '';
    for (const line of parts) this.appendLine(stream, line);
    while (f.pending.length > this.maxLineLength) {
      this.append(stream, f.pending.slice(0, this.maxLineLength), true);
      f.pending = f.pending.slice(this.maxLineLength);
    }
    return this.kick(stream);
  }

  /** Stores a stream's unfinished last line as a partial record (the worker exited mid-line). */
  endOfOutput(stream?: LogStream): void {
    if (this.closed) return;
    for (const s of stream ? [stream] : (['stdout', 'stderr'] as const)) {
      const f = this.files[s];
      const rest = f.pending + f.decoder.end();
      f.pending = '';
      f.decoder = new StringDecoder('utf8');
      if (rest !== '') {
        this.append(s, rest, true);
        this.kick(s);
      }
    }
  }

  /**
   * Appends whole lines from another source (e.g. what the worker logged through the SDK) as
   * their own records, without touching a line the worker is in the middle of writing.
   */
  note(stream: LogStream, text: string): void {
    if (this.closed) return;
    for (const line of text.replace(/\n$/, '').split('\n')) this.appendLine(stream, line);
    this.kick(stream);
  }

  /** Resolves once every record handed over so far is in the files. */
  async flush(): Promise<void> {
    for (const f of Object.values(this.files)) while (f.draining) await f.draining;
  }

  /** Stores unfinished lines, writes everything queued, and closes the files; later output is ignored. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.endOfOutput();
      this.closed = true;
    }
    await this.flush();
    for (const f of Object.values(this.files)) {
      const h = f.handle;
      f.handle = undefined;
      await h?.close().catch(() => {});
    }
  }

  private time(): string {
    // Strictly increasing (in whole microseconds), so the two streams interleave exactly in capture order.
    const us = Math.max(Math.round(this.now() * 1000), this.lastMicros + 1);
    this.lastMicros = us;
    return formatMicros(us);
  }

  /** Queues a complete line, in partial pieces when it is longer than the line limit. */
  private appendLine(stream: LogStream, line: string): void {
    let rest = line;
    while (rest.length > this.maxLineLength) {
      this.append(stream, rest.slice(0, this.maxLineLength), true);
      rest = rest.slice(this.maxLineLength);
    }
    this.append(stream, rest, false);
  }

  private append(stream: LogStream, line: string, partial: boolean): void {
    const text = formatRecord({ time: this.time(), stream, line, partial });
    const f = this.files[stream];
    f.queue.push({ text, payload: payloadBytes(line, partial) });
    f.queuedChars += text.length;
  }

  private queuedChars(): number {
    return this.files.stdout.queuedChars + this.files.stderr.queuedChars;
  }

  /** Starts the stream's drain if records wait and none runs; whether the caller may go on. */
  private kick(stream: LogStream): boolean {
    const f = this.files[stream];
    if (f.queue.length > 0 && !f.draining) {
      f.draining = this.drain(f, stream).finally(() => {
        f.draining = undefined;
        // Records queued while the last write was under way start the next drain.
        if (f.queue.length > 0) this.kick(stream);
      });
    }
    if (this.queuedChars() <= this.highWaterMark) return true;
    this.needDrain = true;
    return false;
  }

  /** Writes what the stream has queued, in as few writes as rotation allows. */
  private async drain(f: StreamFile, stream: LogStream): Promise<void> {
    const records = f.queue;
    const chars = f.queuedChars;
    f.queue = [];
    try {
      await this.open(f, stream);
      let batch: string[] = [];
      let batchBytes = 0;
      for (const record of records) {
        const bytes = Buffer.byteLength(record.text);
        const full =
          f.payload + record.payload > this.maxBytes ||
          f.size + batchBytes + bytes > this.maxBytes * MAX_FRAMING_FACTOR;
        if (f.size + batchBytes > 0 && full) {
          await this.writeOut(f, batch.join(''));
          await this.rotate(f, stream);
          await this.open(f, stream);
          batch = [];
          batchBytes = 0;
        }
        batch.push(record.text);
        batchBytes += bytes;
        f.payload += record.payload;
      }
      await this.writeOut(f, batch.join(''));
    } catch (err) {
      // The file is left behind: the next drain opens it afresh.
      const h = f.handle;
      f.handle = undefined;
      await h?.close().catch(() => {});
      this.onError(err as Error);
    } finally {
      f.queuedChars -= chars;
      if (this.needDrain && this.queuedChars() <= this.highWaterMark) {
        this.needDrain = false;
        this.emit('drain');
      }
    }
  }

  private async writeOut(f: StreamFile, text: string): Promise<void> {
    if (text === '') return;
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += (await f.handle!.write(buf, off, buf.length - off)).bytesWritten;
    f.size += buf.length;
  }

  private async open(f: StreamFile, stream: LogStream): Promise<void> {
    if (f.handle) return;
    this.dirMade ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
      this.dirMade = undefined;
      throw err;
    });
    await this.dirMade;
    const handle = await open(logFile(this.dir, stream), 'a+', 0o600);
    try {
      f.size = (await handle.stat()).size;
      // Bounded by the framing factor; read once per writer, when a worker starts again.
      f.payload = f.size > 0 ? await payloadOf(logFile(this.dir, stream)) : 0;
      if (f.size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, f.size - 1);
        // A crash cut the last record short: end it, so the next record is not glued to it.
        if (last[0] !== 0x0a) f.size += (await handle.write('\n')).bytesWritten;
      }
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
    f.handle = handle;
  }

  private async rotate(f: StreamFile, stream: LogStream): Promise<void> {
    const h = f.handle;
    f.handle = undefined;
    await h?.close();
    // Shift stdout.log.N-1 -> .N ... stdout.log -> .1; the oldest falls off the end.
    await rm(logFile(this.dir, stream, this.maxFiles - 1), { force: true });
    for (let g = this.maxFiles - 2; g >= 0; g--) {
      try {
        await rename(logFile(this.dir, stream, g), logFile(this.dir, stream, g + 1));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    if (this.maxFiles === 1) await rm(logFile(this.dir, stream, 1), { force: true });
  }
}
