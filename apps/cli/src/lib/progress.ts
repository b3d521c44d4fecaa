import { formatBytes } from '@iii/config';
import type { RegistryRetryEvent } from '@iii/oci';

export type LayerState = 'waiting' | 'downloading' | 'exists' | 'verifying' | 'complete' | 'failed';

/** One update about one blob of a pull. */
export interface LayerUpdate {
  /** The blob digest (`sha256:...`). */
  id: string;
  state: LayerState;
  /** Bytes received so far. */
  current?: number;
  /** Blob size. */
  total?: number;
}

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ProgressMode = 'bars' | 'lines' | 'none';

interface Row {
  id: string;
  state: LayerState;
  current: number;
  total: number;
  startedAt?: number;
  finishedAt?: number;
}

const BAR_WIDTH = 30;
const REDRAW_MS = 100;

/** The line that tells a user why a registry operation takes longer: what failed, and when it is tried again. */
export function retryLine(e: RegistryRetryEvent): string {
  const wait = e.delayMs >= 100 ? ` in ${(e.delayMs / 1000).toFixed(1)} s` : '';
  return `Registry ${e.host}: ${e.reason} on ${e.what}; retrying${wait} (try ${e.attempt + 1} of ${e.attempts})`;
}

/**
 * How to show progress on this stream: bars on a terminal, lines otherwise, nothing for --json.
 * A terminal that reports 0 columns (a serial console, `script` without a terminal) cannot hold
 * a bar, so it gets the lines too.
 */
export function progressModeFor(out: ProgressOutput, json: boolean): ProgressMode {
  if (json) return 'none';
  return out.isTTY && process.env.TERM !== 'dumb' && out.columns !== 0 ? 'bars' : 'lines';
}

/**
 * Per-layer pull progress like `docker pull`: on a terminal one redrawn bar per layer with bytes and
 * speed; elsewhere one plain line when a layer starts and when it ends, so logs stay readable.
 */
export class PullProgress {
  readonly #out: ProgressOutput;
  readonly #mode: ProgressMode;
  readonly #now: () => number;
  readonly #rows = new Map<string, Row>();
  #drawnLines = 0;
  #lastDraw = 0;

  constructor(out: ProgressOutput, mode: ProgressMode, now: () => number = Date.now) {
    this.#out = out;
    this.#mode = mode;
    this.#now = now;
  }

  /** A heading line such as `Pulling ghcr.io/acme/w:1`. */
  message(text: string): void {
    if (this.#mode === 'none') return;
    this.#out.write(`${text}\n`);
    this.#drawnLines = 0;
  }

  /** A registry try failed and will be retried: said at once, so a slow pull is never a silent one. */
  retrying(e: RegistryRetryEvent): void {
    this.message(retryLine(e));
  }

  update(u: LayerUpdate): void {
    if (this.#mode === 'none') return;
    const now = this.#now();
    let row = this.#rows.get(u.id);
    const previous = row?.state;
    if (!row) {
      row = { id: u.id, state: u.state, current: 0, total: 0 };
      this.#rows.set(u.id, row);
    }
    row.state = u.state;
    if (u.total !== undefined) row.total = u.total;
    if (u.current !== undefined) row.current = u.current;
    if (u.state === 'downloading' && row.startedAt === undefined) row.startedAt = now;
    if (isFinal(u.state) && row.finishedAt === undefined) row.finishedAt = now;

    if (this.#mode === 'lines') {
      if (previous === u.state) return;
      if (u.state === 'downloading' || isFinal(u.state)) this.#out.write(`${this.#plainLine(row)}\n`);
      return;
    }
    if (!isFinal(u.state) && previous === u.state && now - this.#lastDraw < REDRAW_MS) return;
    this.#draw(now);
  }

  /** Draws the final state of every bar. */
  finish(): void {
    if (this.#mode === 'bars' && this.#rows.size > 0) this.#draw(this.#now());
  }

  #draw(now: number): void {
    this.#lastDraw = now;
    let text = this.#drawnLines > 0 ? `\x1b[${this.#drawnLines}A` : '';
    for (const row of this.#rows.values()) text += `\x1b[2K${this.#barLine(row, now)}\n`;
    this.#drawnLines = this.#rows.size;
    this.#out.write(text);
  }

  #barLine(row: Row, now: number): string {
    const id = shortId(row.id);
    switch (row.state) {
      case 'waiting':
        return `${id}: Waiting`;
      case 'exists':
        return `${id}: Already exists`;
      case 'complete':
        return `${id}: Pull complete ${formatBytes(row.total || row.current)}`;
      case 'failed':
        return `${id}: Failed`;
      case 'verifying':
        return `${id}: Verifying`;
      case 'downloading': {
        const frac = row.total > 0 ? Math.min(1, row.current / row.total) : 0;
        const filled = Math.floor(frac * BAR_WIDTH);
        const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(BAR_WIDTH - filled)}]`;
        const sizes = `${formatBytes(row.current)}/${row.total > 0 ? formatBytes(row.total) : '?'}`;
        const line = `${id}: Downloading ${bar} ${sizes} ${speed(row, now)}`;
        const cols = this.#out.columns || 120;
        return line.length > cols ? line.slice(0, cols) : line;
      }
    }
  }

  #plainLine(row: Row): string {
    const id = shortId(row.id);
    switch (row.state) {
      case 'downloading':
        return `${id}: downloading ${row.total > 0 ? formatBytes(row.total) : ''}`.trimEnd();
      case 'exists':
        return `${id}: already exists`;
      case 'complete': {
        const took =
          row.startedAt !== undefined && row.finishedAt !== undefined ? row.finishedAt - row.startedAt : 0;
        return `${id}: pulled ${formatBytes(row.total || row.current)} in ${(took / 1000).toFixed(1)}s`;
      }
      case 'failed':
        return `${id}: failed`;
      default:
        return `${id}: ${row.state}`;
    }
  }
}

function isFinal(state: LayerState): boolean {
  return state === 'exists' || state === 'complete' || state === 'failed';
}

function shortId(digest: string): string {
  const hex = digest.includes(':') ? digest.slice(digest.indexOf(':') + 1) : digest;
  return hex.slice(0, 12);
}

function speed(row: Row, now: number): string {
  if (row.startedAt === undefined) return '';
  const seconds = (now - row.startedAt) / 1000;
  if (seconds <= 0) return '';
  return `${formatBytes(Math.round(row.current / seconds))}/s`;
}
