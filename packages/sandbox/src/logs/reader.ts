import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { logFile } from './files.js';
import { formatTime, type LogLine, type LogStream, parseRecord } from './record.js';

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
    const h = this.handle;
    if (!h) return;
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, CHUNK, this.pos);
      if (bytesRead === 0) return;
      this.pos += bytesRead;
      // Records are JSON, so ASCII newlines never occur inside one and UTF-8 splits are safe per line.
      const text = this.rest + buf.subarray(0, bytesRead).toString('latin1');
      const lines = text.split('\n');
      this.rest = lines.pop() ?? '';
      for (const l of lines) {
        const rec = parseRecord(Buffer.from(l, 'latin1').toString('utf8'));
        if (rec) out.push(rec);
      }
    }
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

async function readWhole(path: string): Promise<LogLine[]> {
  const f = new LiveFile(path);
  try {
    return await f.read();
  } finally {
    await f.close();
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
    // Each stream is already in time order; at most 3 files each, read one stream at a time.
    let backlog: LogLine[] = [];
    for (const [i, s] of streams.entries()) {
      const lines: LogLine[] = [];
      for (const p of await rotated(dir, s)) lines.push(...(await readWhole(p)));
      lines.push(...(await live[i]!.read()));
      const kept = lines.filter(keep);
      backlog = backlog.concat(options.tail === undefined ? kept : kept.slice(-options.tail));
    }
    backlog.sort(byTime);
    if (options.tail !== undefined) backlog = options.tail > 0 ? backlog.slice(-options.tail) : [];
    for (const l of backlog) {
      if (options.signal?.aborted) return;
      yield l;
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
