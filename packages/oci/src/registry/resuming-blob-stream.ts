import { Readable } from 'node:stream';
import { OciError, RegistryUnreachableError } from '../errors.js';
import { networkErrorCode } from './http-transport.js';

export interface BlobRange {
  body: Readable;
  /** Where the body starts in the blob: the requested offset, or 0 if the server ignored Range. */
  offset: number;
}

export interface ResumeOptions {
  registry: string;
  digest: string;
  size: number;
  /** Consecutive failures without progress before giving up. */
  attempts: number;
  backoff: (failures: number) => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
}

/**
 * One blob as one stream, even when the connection drops mid-body: the rest is asked for again
 * with a Range request (skipping what a server that ignores Range sends twice). A plain Readable
 * that forwards chunks as they come, so the blob path costs no extra copies or promises per chunk.
 */
export class ResumingBlobStream extends Readable {
  private body: Readable | undefined;
  private received: number;
  private skip = 0;
  private failures = 0;
  private progressAtFailure = -1;
  private settled = false;

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
    this.skip = this.received - range.offset;
    body.on('data', (c: Buffer) => {
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
      if (!this.push(chunk)) body.pause();
    });
    body.once('end', () => {
      if (this.received >= this.options.size) this.finish(body, () => this.push(null));
      else this.finish(body, () => this.retry(new Error('connection closed before the end of the blob')));
    });
    body.once('error', (err) => this.finish(body, () => this.retry(err)));
    body.once('close', () => this.finish(body, () => this.retry(new Error('connection closed mid-body'))));
  }

  /** Runs `then` once per body, whichever of end/error/close comes first. */
  private finish(body: Readable, then: () => void): void {
    if (this.settled || body !== this.body) return;
    this.settled = true;
    then();
  }

  private retry(cause: unknown): void {
    const { signal } = this.options;
    this.body?.removeAllListeners('data');
    this.body?.on('error', () => {});
    this.body?.destroy();
    this.body = undefined;
    if (this.destroyed) return;
    if (signal?.aborted || cause instanceof OciError) {
      this.destroy((signal?.aborted ? signal.reason : cause) as Error);
      return;
    }
    // Only consecutive failures without progress count against the limit.
    if (this.received > this.progressAtFailure) this.failures = 0;
    this.progressAtFailure = this.received;
    if (++this.failures >= this.options.attempts) {
      const detail = networkErrorCode(cause) ?? (cause as Error).message;
      this.destroy(
        new RegistryUnreachableError(
          this.options.registry,
          `connection lost while reading blob ${this.options.digest} (${detail})`,
          { cause },
        ),
      );
      return;
    }
    this.options
      .sleep(this.options.backoff(this.failures), signal)
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
    this.body?.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.body) {
      this.body.removeAllListeners('data');
      this.body.on('error', () => {});
      this.body.destroy();
      this.body = undefined;
    }
    callback(err);
  }
}
