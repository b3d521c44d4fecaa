import { Readable } from 'node:stream';
import { BlobTooShortError, OciError, RegistryStalledError, RegistryUnreachableError } from '../errors.js';
import { networkErrorCode } from './http-transport.js';
import { StallTimeout } from './stall-timeout.js';

export interface BlobRange {
  body: Readable;
  /** Where the body starts in the blob: the requested offset, or 0 if the server ignored Range. */
  offset: number;
  /** The body's length when the server said it (Content-Length). */
  length?: number;
}

/** One failed try that will be retried, for telling the user why a pull takes longer. */
export interface BlobRetry {
  /** Consecutive failed tries without progress, this one included. */
  attempt: number;
  /** How many such tries are allowed for this kind of failure. */
  attempts: number;
  delayMs: number;
  reason: string;
}

export interface ResumeOptions {
  registry: string;
  digest: string;
  /** How errors name the blob: `layer sha256:…`. */
  label: string;
  size: number;
  /** Consecutive failures without progress before giving up. */
  attempts: number;
  /** A body that sends nothing this long, while we want data, has stalled: resume it. */
  stallTimeoutMs: number;
  /** Consecutive stalls without progress before giving up (at most `attempts`). */
  stallTries: number;
  onRetry?: (retry: BlobRetry) => void;
  backoff: (failures: number) => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
}

/**
 * One blob as one stream, even when the connection drops or stalls mid-body: the rest is asked for
 * again with a Range request (skipping what a server that ignores Range sends twice). A body is
 * stalled when no byte comes for `stallTimeoutMs` while the consumer wants data (time paused for
 * backpressure does not count). A body that ends cleanly short of the declared size is the whole
 * blob as the registry has it: that fails at once, as no retry can make it longer. A plain Readable
 * that forwards chunks as they come, so the blob path costs no extra copies or promises per chunk.
 */
export class ResumingBlobStream extends Readable {
  private body: Readable | undefined;
  private received: number;
  private skip = 0;
  private failures = 0;
  private progressAtFailure = -1;
  private settled = false;
  /** Bytes of the current body, skipped ones included. */
  private bodyBytes = 0;
  private stallTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly openAt: (offset: number) => Promise<BlobRange>,
    first: BlobRange,
    start: number,
    private readonly options: ResumeOptions,
  ) {
    // A small buffer: when the stream finally fails, what it still buffers is lost to the consumer
    // (and to a partial file that a later pull resumes from).
    super();
    this.received = start;
    this.attach(first);
  }

  private attach(range: BlobRange): void {
    const body = range.body;
    this.body = body;
    this.settled = false;
    this.bodyBytes = 0;
    this.skip = this.received - range.offset;
    body.on('data', (c: Buffer) => {
      this.bodyBytes += c.length;
      this.stallTimer?.refresh();
      let chunk = c;
      if (this.skip > 0) {
        if (chunk.length <= this.skip) {
          this.skip -= chunk.length;
          return;
        }
        chunk = chunk.subarray(this.skip);
        this.skip = 0;
      }
      this.received += chunk.length;
      if (!this.push(chunk)) {
        body.pause();
        this.unwatch();
      }
    });
    body.once('end', () => {
      if (this.received >= this.options.size) {
        this.finish(body, () => {
          this.unwatch();
          this.push(null);
        });
      } else if (range.length !== undefined && this.bodyBytes >= range.length) {
        // The server finished the body it announced: the blob it has ends here.
        const { registry, label, digest, size } = this.options;
        this.finish(body, () =>
          this.fail(new BlobTooShortError(registry, label, digest, size, range.offset + range.length!)),
        );
      } else this.finish(body, () => this.retry(new Error('connection closed before the end of the blob')));
    });
    body.once('error', (err) => this.finish(body, () => this.retry(err)));
    body.once('close', () => this.finish(body, () => this.retry(new Error('connection closed mid-body'))));
    this.watch();
  }

  /** (Re)starts the stall timer: called whenever we wait for the registry's next bytes. */
  private watch(): void {
    if (this.stallTimer) {
      this.stallTimer.refresh();
      return;
    }
    const { stallTimeoutMs } = this.options;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      const body = this.body;
      if (body) this.finish(body, () => this.retry(new StallTimeout(stallTimeoutMs)));
    }, stallTimeoutMs);
  }

  private unwatch(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private dropBody(): void {
    this.unwatch();
    if (!this.body) return;
    this.body.removeAllListeners('data');
    this.body.on('error', () => {});
    this.body.destroy();
    this.body = undefined;
  }

  private fail(err: Error): void {
    this.dropBody();
    this.destroy(err);
  }

  /** Runs `then` once per body, whichever of end/error/close comes first. */
  private finish(body: Readable, then: () => void): void {
    if (this.settled || body !== this.body) return;
    this.settled = true;
    then();
  }

  private retry(cause: unknown): void {
    const { signal } = this.options;
    this.dropBody();
    if (this.destroyed) return;
    if (signal?.aborted || cause instanceof OciError) {
      this.destroy((signal?.aborted ? signal.reason : cause) as Error);
      return;
    }
    // Only consecutive failures without progress count against the limit.
    if (this.received > this.progressAtFailure) this.failures = 0;
    this.progressAtFailure = this.received;
    const stalled = cause instanceof StallTimeout;
    const limit = stalled ? Math.min(this.options.attempts, this.options.stallTries) : this.options.attempts;
    const { registry, label, size } = this.options;
    if (++this.failures >= limit) {
      if (stalled) {
        this.destroy(
          new RegistryStalledError(
            registry,
            label,
            {
              timeoutMs: cause.timeoutMs,
              tries: this.failures,
              headers: false,
              received: this.received,
              size,
            },
            { cause },
          ),
        );
        return;
      }
      const detail = networkErrorCode(cause) ?? (cause as Error).message;
      this.destroy(
        new RegistryUnreachableError(registry, `connection lost while reading ${label} (${detail})`, {
          cause,
        }),
      );
      return;
    }
    const delayMs = this.options.backoff(this.failures);
    this.options.onRetry?.({
      attempt: this.failures,
      attempts: limit,
      delayMs,
      reason: stalled ? cause.message : (networkErrorCode(cause) ?? (cause as Error).message),
    });
    this.options
      .sleep(delayMs, signal)
      .then(() => this.openAt(this.received))
      .then(
        (range) => {
          if (this.destroyed) range.body.destroy();
          else this.attach(range);
        },
        (err) => this.destroy(err),
      );
  }

  override _read(): void {
    if (!this.body) return;
    this.body.resume();
    this.watch();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.dropBody();
    callback(err);
  }
}
