import { ManagerError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses `1500ms`, `30s`, `5m`, `1h`, `1m30s` (a bare number is seconds, like `docker stop -t`)
 * into milliseconds.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    end = re.lastIndex;
  }
  if (s === '' || end !== s.length) {
    throw new ManagerError(
      'INVALID_DURATION',
      `invalid ${what} "${text}"`,
      'Use a number with a unit: 1500ms, 30s, 5m, 1h (or combined, like 1m30s).',
    );
  }
  return Math.round(total);
}

/**
 * `--since`: a duration back from now (`10m`) or an RFC 3339 time (`2026-01-02T15:04:05Z`).
 */
export function parseSince(text: string, now: () => number = Date.now): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const t = Date.parse(text.trim());
    if (Number.isNaN(t)) {
      throw new ManagerError(
        'INVALID_TIME',
        `invalid time "${text}"`,
        'Use RFC 3339 (2026-01-02T15:04:05Z) or a duration such as 10m.',
      );
    }
    return new Date(t);
  }
  try {
    return new Date(now() - parseDuration(text, '--since'));
  } catch (err) {
    if (!(err instanceof ManagerError)) throw err;
    // The duration hint alone would hide that a timestamp is accepted too.
    throw new ManagerError(
      err.code,
      err.message,
      'Use a duration such as 10m or 1h30m, or an RFC 3339 time (2026-01-02T15:04:05Z).',
    );
  }
}
