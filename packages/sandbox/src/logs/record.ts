import * as z from 'zod';

/** Which output stream of the worker a log line came from. */
export type LogStream = 'stdout' | 'stderr';

/** One captured line (or piece of a line) of a worker's output. */
export interface LogLine {
  /** When the line was captured: RFC 3339, UTC, microseconds; sorts as text. */
  time: string;
  stream: LogStream;
  /** What the worker wrote, without the newline. */
  line: string;
  /** True when no newline ended this piece: the worker exited mid-line, or the line was too long. */
  partial: boolean;
}

/**
 * Each line is stored as one JSON object per line, `{"t":time,"s":"out"|"err","l":line}` plus
 * `"p":true` for a partial piece: the worker's bytes are kept as text exactly, and the timestamp
 * lives beside them instead of being written into them.
 */
const recordSchema = z.object({
  t: z.string(),
  s: z.enum(['out', 'err']),
  l: z.string(),
  p: z.literal(true).optional(),
});

export function formatRecord(line: LogLine): string {
  return `${JSON.stringify({ t: line.time, s: line.stream === 'stdout' ? 'out' : 'err', l: line.line, ...(line.partial ? { p: true } : {}) })}\n`;
}

/** Parses one stored line; undefined for a damaged one (e.g. cut by a crash), which readers skip. */
export function parseRecord(text: string): LogLine | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = recordSchema.safeParse(json);
  if (!r.success) return undefined;
  return {
    time: r.data.t,
    stream: r.data.s === 'out' ? 'stdout' : 'stderr',
    line: r.data.l,
    partial: r.data.p === true,
  };
}

/** Formats epoch microseconds as RFC 3339 UTC with microseconds (sorts as text). */
export function formatMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // 2026-01-01T00:00:00.000Z
  return `${iso.slice(0, 23)}${String(us - ms * 1000).padStart(3, '0')}Z`;
}

/** Formats a Date (millisecond precision) the way records store times. */
export function formatTime(date: Date): string {
  return formatMicros(date.getTime() * 1000);
}
