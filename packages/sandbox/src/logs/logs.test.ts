import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLogs } from './reader.js';
import { formatTime, type LogLine } from './record.js';
import { LogWriter } from './writer.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iii-logs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function all(it: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of it) out.push(l);
  return out;
}

function clock(start = Date.UTC(2026, 0, 1)) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('LogWriter and readLogs', () => {
  it('stores lines exactly as written, with a timestamp beside each', async () => {
    const c = clock();
    const w = new LogWriter(dir, { now: c.now });
    w.write('stdout', Buffer.from('hello {"json": true}\n\ttabs \\ and "quotes"\n'));
    w.write('stderr', 'oops\n');
    await w.close();
    const lines = await all(readLogs(dir));
    expect(lines.map((l) => [l.stream, l.line])).toEqual([
      ['stdout', 'hello {"json": true}'],
      ['stdout', '\ttabs \\ and "quotes"'],
      ['stderr', 'oops'],
    ]);
    expect(lines[0]?.time).toBe('2026-01-01T00:00:00.000000Z');
    const raw = await readFile(join(dir, 'stdout.log'), 'utf8');
    expect(raw.split('\n')[0]).toBe(
      '{"t":"2026-01-01T00:00:00.000000Z","s":"out","l":"hello {\\"json\\": true}"}',
    );
  });

  it('merges both streams in capture order', async () => {
    const c = clock();
    const w = new LogWriter(dir, { now: c.now });
    for (let i = 0; i < 10; i++) {
      w.write(i % 3 === 0 ? 'stderr' : 'stdout', `line ${i}\n`);
      if (i % 2) c.advance(5);
    }
    await w.close();
    expect((await all(readLogs(dir))).map((l) => l.line)).toEqual(
      Array.from({ length: 10 }, (_, i) => `line ${i}`),
    );
  });

  it('keeps a line that arrives in pieces, including a split UTF-8 character', async () => {
    const w = new LogWriter(dir);
    const bytes = Buffer.from('héllo wörld\n');
    w.write('stdout', bytes.subarray(0, 2));
    w.write('stdout', bytes.subarray(2, 8));
    w.write('stdout', bytes.subarray(8));
    await w.close();
    expect((await all(readLogs(dir))).map((l) => l.line)).toEqual(['héllo wörld']);
  });

  it('stores an unfinished last line as partial instead of losing it', async () => {
    const w = new LogWriter(dir);
    w.write('stdout', 'done\nno newline');
    w.endOfOutput('stdout');
    w.write('stdout', 'next run\n');
    await w.close();
    const lines = await all(readLogs(dir));
    expect(lines.map((l) => [l.line, l.partial])).toEqual([
      ['done', false],
      ['no newline', true],
      ['next run', false],
    ]);
  });

  it('adds noted lines as whole records without breaking a line the worker is writing', async () => {
    const w = new LogWriter(dir);
    w.write('stdout', 'half of a ');
    w.note('stdout', 'from the sdk\nsecond');
    w.write('stdout', 'line\n');
    await w.close();
    w.note('stdout', 'after close');
    expect((await all(readLogs(dir))).map((l) => l.line)).toEqual([
      'from the sdk',
      'second',
      'half of a line',
    ]);
  });

  it('splits an overlong line into partial pieces', async () => {
    const w = new LogWriter(dir, { maxLineLength: 10 });
    w.write('stdout', `${'x'.repeat(25)}\n`);
    await w.close();
    const lines = await all(readLogs(dir));
    expect(lines.map((l) => l.line).join('')).toBe('x'.repeat(25));
    expect(lines.map((l) => l.partial)).toEqual([true, true, false]);
  });

  it('rotation keeps at most the configured files and the kept lines are complete', async () => {
    const w = new LogWriter(dir, { maxBytes: 4096, maxFiles: 3 });
    const written: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const line = `line ${i} ${'.'.repeat(i % 50)}`;
      written.push(line);
      w.write('stdout', `${line}\n`);
    }
    await w.close();
    const files = (await readdir(dir)).filter((f) => f.startsWith('stdout')).sort();
    expect(files).toEqual(['stdout.log', 'stdout.log.1', 'stdout.log.2']);
    const read = (await all(readLogs(dir))).map((l) => l.line);
    // What is kept is an unbroken run of the newest lines: nothing is missing in between.
    expect(read.length).toBeGreaterThan(100);
    expect(read).toEqual(written.slice(-read.length));
    // The limit counts the worker's output (line and newline), not the time and stream beside it.
    const perFile = await Promise.all(
      files.map(async (f) =>
        (await readFile(join(dir, f), 'utf8'))
          .split('\n')
          .filter((l) => l !== '')
          .reduce((n, l) => n + Buffer.byteLength((JSON.parse(l) as { l: string }).l) + 1, 0),
      ),
    );
    for (const bytes of perFile) expect(bytes).toBeLessThanOrEqual(4096);
    // Rotated files are full up to the limit of output, though their size on disk is larger.
    expect(perFile[1]).toBeGreaterThan(4096 - 100);
    expect((await readFile(join(dir, 'stdout.log.1'))).length).toBeGreaterThan(4096);
  });

  it('a writer opened on an existing file counts the output already in it', async () => {
    const first = new LogWriter(dir, { maxBytes: 2048, maxFiles: 2 });
    for (let i = 0; i < 30; i++) first.write('stdout', `${'a'.repeat(49)}\n`);
    await first.close();
    const second = new LogWriter(dir, { maxBytes: 2048, maxFiles: 2 });
    for (let i = 0; i < 20; i++) second.write('stdout', `${'b'.repeat(49)}\n`);
    await second.close();
    // 30 + 20 lines of 50 bytes exceed 2048: the first writer's 1500 bytes were counted.
    const files = (await readdir(dir)).filter((f) => f.startsWith('stdout')).sort();
    expect(files).toEqual(['stdout.log', 'stdout.log.1']);
  });

  it('tails the last N lines over both streams and filters by time', async () => {
    const c = clock();
    const w = new LogWriter(dir, { now: c.now });
    for (let i = 0; i < 20; i++) {
      w.write(i % 2 ? 'stderr' : 'stdout', `l${i}\n`);
      c.advance(1000);
    }
    await w.close();
    expect((await all(readLogs(dir, { tail: 3 }))).map((l) => l.line)).toEqual(['l17', 'l18', 'l19']);
    const since = new Date(Date.UTC(2026, 0, 1) + 15_000);
    expect((await all(readLogs(dir, { since }))).map((l) => l.line)).toEqual([
      'l15',
      'l16',
      'l17',
      'l18',
      'l19',
    ]);
    expect(await all(readLogs(dir, { tail: 0 }))).toEqual([]);
  });

  it('gives the same last N lines reading backwards as reading everything, across rotated files', async () => {
    const c = clock();
    const w = new LogWriter(dir, { now: c.now, maxBytes: 4096, maxFiles: 3 });
    for (let i = 0; i < 300; i++) {
      w.write(i % 4 === 0 ? 'stderr' : 'stdout', `line ${i} ${'#'.repeat(i % 37)}\n`);
      c.advance(10);
    }
    await w.close();
    const everything = await all(readLogs(dir));
    for (const n of [1, 2, 7, 50, 99, 100, 101, 140, 1000]) {
      expect(await all(readLogs(dir, { tail: n }))).toEqual(everything.slice(-n));
    }
    const since = new Date(Date.UTC(2026, 0, 1) + 2_500);
    const after = everything.filter((l) => l.time >= formatTime(since));
    expect(await all(readLogs(dir, { tail: 1000, since }))).toEqual(after);
    expect(await all(readLogs(dir, { tail: 3, since }))).toEqual(after.slice(-3));
  });

  it('continues after the tail when following, without repeating or skipping a line', async () => {
    const w = new LogWriter(dir);
    for (let i = 0; i < 10; i++) w.write('stdout', `old ${i}\n`);
    await w.flush();
    const ac = new AbortController();
    const it = readLogs(dir, { tail: 2, follow: true, signal: ac.signal, pollMs: 10 })[
      Symbol.asyncIterator
    ]();
    const seen: string[] = [];
    seen.push((await it.next()).value.line, (await it.next()).value.line);
    w.write('stdout', 'new 1\nnew 2\n');
    seen.push((await it.next()).value.line, (await it.next()).value.line);
    ac.abort();
    await it.return?.(undefined);
    await w.close();
    expect(seen).toEqual(['old 8', 'old 9', 'new 1', 'new 2']);
  });

  it('does not take a record still being written as the last line', async () => {
    await writeFile(
      join(dir, 'stdout.log'),
      '{"t":"2026-01-01T00:00:00.000000Z","s":"out","l":"a"}\n{"t":"2026-01-01T00:00:01.000000Z","s":"out","l":"b"}\n{"t":"2026-01-0',
    );
    expect((await all(readLogs(dir, { tail: 1 }))).map((l) => l.line)).toEqual(['b']);
    expect((await all(readLogs(dir, { tail: 5 }))).map((l) => l.line)).toEqual(['a', 'b']);
  });

  it('follows new lines across rotations without losing any', async () => {
    const w = new LogWriter(dir, { maxBytes: 2048, maxFiles: 2 });
    const ac = new AbortController();
    const seen: string[] = [];
    const it = readLogs(dir, { follow: true, signal: ac.signal, pollMs: 10 })[Symbol.asyncIterator]();
    const expected: string[] = [];
    for (let batch = 0; batch < 12; batch++) {
      // Each batch is smaller than a file, so the reader sees at most one rotation per poll.
      for (let i = 0; i < 20; i++) {
        const line = `b${batch} i${i} ${'-'.repeat(30)}`;
        expected.push(line);
        w.write(batch % 2 ? 'stderr' : 'stdout', `${line}\n`);
      }
      while (seen.length < expected.length) {
        const n = await it.next();
        if (n.done) break;
        seen.push(n.value.line);
      }
    }
    ac.abort();
    await it.return?.(undefined);
    await w.close();
    expect(seen).toEqual(expected);
  });

  it('does not lose the next line after a record cut short by a crash', async () => {
    await writeFile(
      join(dir, 'stdout.log'),
      '{"t":"2026-01-01T00:00:00.000000Z","s":"out","l":"whole"}\n{"t":"2026-01-01T00:0',
    );
    const w = new LogWriter(dir);
    w.write('stdout', 'after restart\n');
    await w.close();
    expect((await all(readLogs(dir))).map((l) => l.line)).toEqual(['whole', 'after restart']);
  });

  it('asks its source to pause while the disk lags, and loses nothing', async () => {
    const w = new LogWriter(dir, { highWaterMark: 4096, maxBytes: 64 * 1024, maxFiles: 50 });
    const written: string[] = [];
    let paused = 0;
    for (let i = 0; i < 2000; i++) {
      const line = `line ${i} ${'='.repeat(i % 40)}`;
      written.push(line);
      if (!w.write('stdout', `${line}\n`)) {
        paused++;
        await new Promise<void>((resolve) => w.once('drain', resolve));
      }
    }
    await w.close();
    expect(paused).toBeGreaterThan(0);
    expect((await all(readLogs(dir))).map((l) => l.line)).toEqual(written);
  });

  it('has every record in the files once flush resolves, and keeps each stream in order', async () => {
    const w = new LogWriter(dir, { maxBytes: 4096, maxFiles: 100 });
    const expected: Record<string, string[]> = { stdout: [], stderr: [] };
    for (let i = 0; i < 500; i++) {
      const stream = i % 3 === 0 ? 'stderr' : 'stdout';
      expected[stream]!.push(`${stream} ${i}`);
      // Pieces of lines, so a line's parts and its neighbours are queued while earlier writes are under way.
      w.write(stream, `${stream} `);
      w.write(stream, `${i}\n`);
    }
    await w.flush();
    const lines = await all(readLogs(dir));
    for (const stream of ['stdout', 'stderr'] as const)
      expect(lines.filter((l) => l.stream === stream).map((l) => l.line)).toEqual(expected[stream]);
    await w.close();
  });

  it('reports a write the disk refuses and goes on with the next', async () => {
    const blocked = join(dir, 'not-a-directory');
    await writeFile(blocked, '');
    const errors: Error[] = [];
    const w = new LogWriter(join(blocked, 'logs'), { onError: (err) => errors.push(err) });
    w.write('stdout', 'lost\n');
    await w.flush();
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ENOTDIR']);
    await rm(blocked);
    w.write('stdout', 'kept\n');
    await w.close();
    expect((await all(readLogs(join(blocked, 'logs')))).map((l) => l.line)).toEqual(['kept']);
  });

  it('reads nothing, without error, from a directory with no logs yet', async () => {
    expect(await all(readLogs(join(dir, 'missing')))).toEqual([]);
  });
});
