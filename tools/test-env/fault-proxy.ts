import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  range?: string;
  status?: number;
  authorization?: string;
  /** Which fault, if any, this request met. */
  fault?: 'status' | 'cut' | 'stall' | 'hang' | 'redirect';
}

type Counted = { match: RegExp; times: number };
type Fault =
  | (Counted & { kind: 'status'; status: number; retryAfter?: string })
  | (Counted & { kind: 'cut'; afterBytes: number })
  | (Counted & { kind: 'stall'; at: number })
  | (Counted & { kind: 'hang' })
  | { kind: 'flip'; match: RegExp; at: number }
  | { kind: 'redirect'; match: RegExp; to: string }
  | { kind: 'ignore-range'; match: RegExp };

/** Where a response body starts in the whole resource: the start of its Content-Range, or 0. */
function bodyStart(res: http.IncomingMessage): number {
  const range = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
  return res.statusCode === 206 && range ? Number(range[1]) : 0;
}

/**
 * A small HTTP proxy in front of a real registry (plain HTTP) that injects faults into chosen
 * requests: error statuses (500, 429 with Retry-After), connections cut mid-body, bodies that stall,
 * requests never answered, flipped bytes, redirects and ignored Range headers. Faults match
 * `"<METHOD> <path>"`; the counted ones apply to the next `times` matching requests (`Infinity` for
 * every one). It keeps the Host header, so the registry's absolute URLs (upload locations) point back
 * through the proxy. Requests are recorded in `requests`.
 */
export class FaultProxy {
  readonly requests: RecordedRequest[] = [];
  private faults: Fault[] = [];
  private rewrites: { name: string; from: string; to: string }[] = [];
  private readonly server: http.Server;
  private readonly target: URL;
  /** `127.0.0.1:PORT`: use it as the registry host of image references. */
  host = '';

  private constructor(target: string) {
    this.target = new URL(target);
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  /** Starts a proxy on a free 127.0.0.1 port in front of `target` (`http://host:port`). */
  static async start(target: string): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.host = `127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** `http://127.0.0.1:PORT` */
  get url(): string {
    return `http://${this.host}`;
  }

  /** Answer the next `times` requests matching `match` with `status`. */
  failWith(match: RegExp, status: number, times = 1, retryAfter?: string): void {
    this.faults.push({ kind: 'status', match, status, times, ...(retryAfter ? { retryAfter } : {}) });
  }

  /** Cut the connection of the next `times` matching responses after `afterBytes` body bytes. */
  cutAfter(match: RegExp, afterBytes: number, times = 1): void {
    this.faults.push({ kind: 'cut', match, afterBytes, times });
  }

  /**
   * Stall the next `times` matching responses once they reach byte `at` of the resource: the headers
   * and the bytes before `at` are sent, then nothing more while the connection stays open. A Range
   * request that starts at or after `at` gets its headers and no byte, so a client that resumes
   * makes no progress past `at` while the fault lasts.
   */
  stallAt(match: RegExp, at: number, times = 1): void {
    this.faults.push({ kind: 'stall', match, at, times });
  }

  /** Accept the next `times` matching requests and never answer them (no status line, no headers). */
  hang(match: RegExp, times = 1): void {
    this.faults.push({ kind: 'hang', match, times });
  }

  /** Flip the byte at body offset `at` in every matching response. */
  flipByte(match: RegExp, at = 0): void {
    this.faults.push({ kind: 'flip', match, at });
  }

  /** Answer every matching request with a 307 to the same path on another origin (blob storage). */
  redirectTo(match: RegExp, toOrigin: string): void {
    this.faults.push({ kind: 'redirect', match, to: toOrigin });
  }

  /** Drop the Range header of matching requests, like a server without range support. */
  ignoreRange(match: RegExp): void {
    this.faults.push({ kind: 'ignore-range', match });
  }

  /**
   * Replace `from` with `to` in the response header `name` of every reply, e.g. to send a registry's
   * token challenge to a second proxy in front of its token service.
   */
  rewriteHeader(name: string, from: string, to: string): void {
    this.rewrites.push({ name: name.toLowerCase(), from, to });
  }

  /** Forgets every fault, header rewrite and recorded request. */
  clear(): void {
    this.faults = [];
    this.rewrites = [];
    this.requests.length = 0;
  }

  /** Closes every connection, stalled and hanging ones included, and the listening socket. */
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private take<K extends Fault['kind']>(
    kind: K,
    method: string,
    path: string,
  ): Extract<Fault, { kind: K }> | undefined {
    const f = this.faults.find((x) => x.kind === kind && x.match.test(`${method} ${path}`));
    if (f && 'times' in f) {
      f.times--;
      if (f.times <= 0) this.faults = this.faults.filter((x) => x !== f);
    }
    return f as Extract<Fault, { kind: K }> | undefined;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const record: RecordedRequest = {
      method,
      path,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    };
    this.requests.push(record);
    const redirect = this.faults.find((x) => x.kind === 'redirect' && x.match.test(`${method} ${path}`));
    if (redirect && redirect.kind === 'redirect') {
      record.status = 307;
      record.fault = 'redirect';
      req.resume();
      res.writeHead(307, { location: `${redirect.to}${path}` });
      res.end();
      return;
    }
    if (this.take('hang', method, path)) {
      // Read the request so the client sees it sent, then say nothing until the client gives up.
      record.fault = 'hang';
      req.resume();
      return;
    }
    const status = this.take('status', method, path);
    if (status) {
      record.status = status.status;
      record.fault = 'status';
      req.resume();
      res.writeHead(status.status, status.retryAfter ? { 'retry-after': status.retryAfter } : {});
      res.end('{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}');
      return;
    }
    const cut = this.take('cut', method, path);
    const stall = cut ? undefined : this.take('stall', method, path);
    const headers = { ...req.headers };
    if (this.faults.some((x) => x.kind === 'ignore-range' && x.match.test(`${method} ${path}`))) {
      delete headers.range;
    }
    const flip = this.faults.find((x) => x.kind === 'flip' && x.match.test(`${method} ${path}`));
    const upstream = http.request(
      { host: this.target.hostname, port: this.target.port, method, path, headers },
      (up) => {
        record.status = up.statusCode;
        const replyHeaders = { ...up.headers };
        for (const { name, from, to } of this.rewrites) {
          const value = replyHeaders[name];
          if (typeof value === 'string') replyHeaders[name] = value.split(from).join(to);
        }
        res.writeHead(up.statusCode ?? 502, replyHeaders);
        const start = bodyStart(up);
        let sent = 0;
        // Detaches from the registry's reply so that closing it neither ends nor resets ours.
        const stopUpstream = () => {
          up.pause();
          for (const event of ['data', 'end', 'error'] as const) up.removeAllListeners(event);
          upstream.removeAllListeners('error');
          up.on('error', () => {});
          upstream.on('error', () => {});
        };
        if (stall && start >= stall.at) {
          // Headers only: the client waits for a body that does not come.
          record.fault = 'stall';
          stopUpstream();
          up.destroy();
          res.flushHeaders();
          return;
        }
        up.on('data', (chunk: Buffer) => {
          let out = chunk;
          if (flip && flip.kind === 'flip' && flip.at >= sent && flip.at < sent + chunk.length) {
            out = Buffer.from(chunk);
            out[flip.at - sent] = out[flip.at - sent]! ^ 0xff;
          }
          if (cut && sent + out.length > cut.afterBytes) {
            // Simulates a network failure: the socket dies mid-body, after what was sent so far is flushed.
            record.fault = 'cut';
            stopUpstream();
            res.write(out.subarray(0, Math.max(0, cut.afterBytes - sent)), () => {
              up.destroy();
              res.socket?.destroy();
            });
            return;
          }
          if (stall && start + sent + out.length > stall.at) {
            // The bytes before the stall point go out; the connection then stays open and silent.
            record.fault = 'stall';
            stopUpstream();
            up.destroy();
            res.write(out.subarray(0, Math.max(0, stall.at - start - sent)));
            return;
          }
          sent += out.length;
          res.write(out);
        });
        up.on('end', () => res.end());
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}
