import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { logFile } from './files.js';
import { formatTime, type LogLine, type LogStream, parseRecord } from './record.js';

/** Options of {@link readLogs}: the last lines, a start time, following, and an abort signal. */
export interface ReadLogsOptions {
  /** Only the last N lines (over both streams) before following. */
  tail?: number;
  /** Only lines captured at or after this time. */
  since?: Date;
  /** Keep yielding new lines, across rotations and restarts, until `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
  /** How often `follow` looks for new lines. Default 200 ms. */
  pollMs?: number;
  /** Streams to read; default both. */
  streams?: readonly LogStream[];
}

const CHUNK = 64 * 1024;

/** Reads one stream's live file from an offset, noticing when the writer rotates it away. */
class LiveFile {
  private handle: FileHandle | undefined;
  private ino = -1;
  private pos = 0;
  private rest = '';

  constructor(private readonly path: string) {}

  /** Complete records appended since the last call. */
  async read(): Promise<LogLine[]> {
    const out: LogLine[] = [];
    if (!this.handle && !(await this.reopen())) return out;
    await this.drain(out);
    // The writer renames the live file only after its last write to it, so once we have
    // drained the old inode, everything it got is ours and the new file starts at offset 0.
    const current = await stat(this.path).catch(() => undefined);
    if (current && current.ino !== this.ino) {
      await this.drain(out);
      await this.close();
      if (await this.reopen()) await this.drain(out);
    }
    return out;
  }

  private async reopen(): Promise<boolean> {
    try {
      this.handle = await open(this.path, 'r');
    } catch {
      return false;
    }
    this.ino = (await this.handle.stat()).ino;
    this.pos = 0;
    this.rest = '';
    return true;
  }

  private async drain(out: LogLine[]): Promise<void> {
    for (;;) {
      const lines = await this.chunk();
      if (!lines) return;
      out.push(...lines);
    }
  }

  /**
   * The last `n` records (at or after `since`) of the file, read backwards from its end; later
   * reads continue after them. Cost depends on `n`, not on the file size.
   */
  async tail(n: number, since: string | undefined): Promise<LogLine[]> {
    if (!this.handle && !(await this.reopen())) return [];
    const { out, end } = await readBackwards(this.handle!, (await this.handle!.stat()).size, n, since);
    this.pos = end;
    this.rest = '';
    return out;
  }

  /** The records completed by the next chunk of the file; undefined at its end. */
  async chunk(): Promise<LogLine[] | undefined> {
    if (!this.handle && !(await this.reopen())) return undefined;
    const h = this.handle!;
    const buf = Buffer.alloc(CHUNK);
    const { bytesRead } = await h.read(buf, 0, CHUNK, this.pos);
    if (bytesRead === 0) return undefined;
    this.pos += bytesRead;
    // Records are JSON, so ASCII newlines never occur inside one and UTF-8 splits are safe per line.
    const text = this.rest + buf.subarray(0, bytesRead).toString('latin1');
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    const out: LogLine[] = [];
    for (const l of lines) {
      const rec = parseRecord(Buffer.from(l, 'latin1').toString('utf8'));
      if (rec) out.push(rec);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
  }
}

/** Rotated generations present for a stream, oldest first (`.3`, `.2`, `.1`). */
async function rotated(dir: string, stream: LogStream): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const re = new RegExp(`^${stream}\\.log\\.(\\d+)$`);
  return names
    .map((n) => ({ n, g: Number(re.exec(n)?.[1] ?? Number.NaN) }))
    .filter((x) => Number.isInteger(x.g) && x.g > 0)
    .sort((a, b) => b.g - a.g)
    .map((x) => logFile(dir, stream, x.g));
}

/**
 * Reads records backwards from `size`, newest first, until `n` are found or one is older than
 * `since`; returns them oldest first, and the offset just after the last complete record.
 */
async function readBackwards(
  h: FileHandle,
  size: number,
  n: number,
  since: string | undefined,
): Promise<{ out: LogLine[]; end: number; complete: boolean }> {
  const out: LogLine[] = [];
  let pos = size;
  let carry = Buffer.alloc(0);
  let end = -1;
  let complete = false;
  const take = (raw: Buffer): boolean => {
    if (raw.length === 0) return true;
    const rec = parseRecord(raw.toString('utf8'));
    if (!rec) return true;
    if (since !== undefined && rec.time < since) return false;
    out.push(rec);
    return out.length < n;
  };
  scan: while (pos > 0 && (out.length < n || end < 0)) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const buf = Buffer.alloc(len);
    await h.read(buf, 0, len, pos);
    let data = Buffer.concat([buf, carry]);
    if (end < 0) {
      // The bytes after the last newline are a record still being written: not ours yet.
      const nl = data.lastIndexOf(0x0a);
      if (nl < 0) {
        carry = data;
        continue;
      }
      end = pos + nl + 1;
      data = data.subarray(0, nl + 1);
      if (n <= 0) break;
    }
    let stop = data.length - 1; // the newline ending the last complete record in `data`
    for (let i = stop - 1; i >= 0; i--) {
      if (data[i] !== 0x0a) continue;
      if (!take(data.subarray(i + 1, stop))) {
        complete = true;
        break scan;
      }
      stop = i;
    }
    carry = Buffer.from(data.subarray(0, stop + 1));
  }
  if (!complete && pos === 0 && out.length < n && end >= 0 && carry.length > 0) {
    const last = carry[carry.length - 1] === 0x0a ? carry.subarray(0, -1) : carry;
    complete = !take(last);
  }
  return { out: out.reverse(), end: Math.max(end, 0), complete: complete || out.length >= n };
}

/** The last `n` lines of one stream at or after `since`: newest file first, backwards. */
async function tailStream(dir: string, stream: LogStream, live: LiveFile, n: number, since?: string) {
  let lines = await live.tail(n, since);
  for (const p of (await rotated(dir, stream)).reverse()) {
    if (lines.length >= n || (since !== undefined && lines.length > 0 && lines[0]!.time < since)) break;
    let h: FileHandle;
    try {
      h = await open(p, 'r');
    } catch {
      continue;
    }
    try {
      const r = await readBackwards(h, (await h.stat()).size, n - lines.length, since);
      lines = [...r.out, ...lines];
      if (r.complete && r.out.length < n) break;
    } finally {
      await h.close();
    }
  }
  return lines;
}

/** One stream's records, oldest first: the rotated files, then the live file up to its end. */
async function* streamLines(dir: string, stream: LogStream, live: LiveFile): AsyncGenerator<LogLine> {
  for (const p of await rotated(dir, stream)) {
    const f = new LiveFile(p);
    try {
      for (let c = await f.chunk(); c; c = await f.chunk()) yield* c;
    } finally {
      await f.close();
    }
  }
  for (let c = await live.chunk(); c; c = await live.chunk()) yield* c;
}

/** Merges streams that are each in time order into one in time order, reading them lazily. */
async function* mergeByTime(sources: AsyncGenerator<LogLine>[]): AsyncGenerator<LogLine> {
  const heads = await Promise.all(sources.map((s) => s.next()));
  for (;;) {
    let best = -1;
    for (const [i, h] of heads.entries()) {
      if (h.done) continue;
      const b = best < 0 ? undefined : heads[best];
      if (!b || b.done || h.value.time < b.value.time) best = i;
    }
    if (best < 0) return;
    yield (heads[best] as IteratorYieldResult<LogLine>).value;
    heads[best] = await sources[best]!.next();
  }
}

function byTime(a: LogLine, b: LogLine): number {
  return a.time < b.time ? -1 : a.time > b.time ? 1 : 0;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Yields a worker's captured lines from its log directory, both streams merged in capture order.
 * With `follow`, keeps yielding new lines (through rotations, and across worker restarts since
 * files are only appended to) until `signal` aborts.
 */
export async function* readLogs(dir: string, options: ReadLogsOptions = {}): AsyncGenerator<LogLine> {
  const streams = options.streams ?? (['stdout', 'stderr'] as const);
  const since = options.since ? formatTime(options.since) : undefined;
  const keep = (l: LogLine) => since === undefined || l.time >= since;
  const live = streams.map((s) => new LiveFile(logFile(dir, s)));
  try {
    // Each stream is in time order; merge them while reading, holding at most `tail` lines.
    if (options.tail === undefined) {
      for await (const l of mergeByTime(streams.map((s, i) => streamLines(dir, s, live[i]!)))) {
        if (options.signal?.aborted) return;
        if (keep(l)) yield l;
      }
    } else if (options.tail > 0) {
      // Only the newest lines are wanted: read each stream backwards, then merge.
      const per = await Promise.all(
        streams.map((s, i) => tailStream(dir, s, live[i]!, options.tail!, since)),
      );
      const lines = per.flat().sort(byTime).slice(-options.tail);
      for (const l of lines) {
        if (options.signal?.aborted) return;
        yield l;
      }
    } else {
      // tail 0: nothing old, but following starts at the current end.
      await Promise.all(live.map((f) => f.tail(0, since)));
    }
    if (!options.follow) return;
    const pollMs = options.pollMs ?? 200;
    while (!options.signal?.aborted) {
      const fresh: LogLine[] = [];
      for (const f of live) fresh.push(...(await f.read()));
      fresh.sort(byTime);
      for (const l of fresh) {
        if (options.signal?.aborted) return;
        if (keep(l)) yield l;
      }
      if (fresh.length === 0) await sleep(pollMs, options.signal);
    }
  } finally {
    for (const f of live) await f.close();
  }
}
