import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  range?: string;
  status?: number;
  authorization?: string;
}

type Fault =
  | { kind: 'status'; match: RegExp; status: number; times: number; retryAfter?: string }
  | { kind: 'cut'; match: RegExp; afterBytes: number; times: number }
  | { kind: 'flip'; match: RegExp; at: number }
  | { kind: 'redirect'; match: RegExp; to: string }
  | { kind: 'ignore-range'; match: RegExp };

/**
 * A small HTTP proxy in front of a real registry that injects faults into chosen requests:
 * error statuses, connections cut mid-body, and flipped bytes. It keeps the Host header, so the
 * registry's absolute URLs (upload locations) point back through the proxy.
 */
export class FaultProxy {
  readonly requests: RecordedRequest[] = [];
  private faults: Fault[] = [];
  private server: http.Server;
  private target: URL;
  host = '';

  private constructor(target: string) {
    this.target = new URL(target);
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async start(target: string): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.host = `127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** Answer the next `times` requests matching `match` with `status`. */
  failWith(match: RegExp, status: number, times = 1, retryAfter?: string): void {
    this.faults.push({ kind: 'status', match, status, times, ...(retryAfter ? { retryAfter } : {}) });
  }

  /** Cut the connection of the next `times` matching responses after `afterBytes` body bytes. */
  cutAfter(match: RegExp, afterBytes: number, times = 1): void {
    this.faults.push({ kind: 'cut', match, afterBytes, times });
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

  clear(): void {
    this.faults = [];
    this.requests.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private take(kind: Fault['kind'], method: string, path: string): Fault | undefined {
    const f = this.faults.find((x) => x.kind === kind && x.match.test(`${method} ${path}`));
    if (f && 'times' in f) {
      f.times--;
      if (f.times <= 0) this.faults = this.faults.filter((x) => x !== f);
    }
    return f;
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
      req.resume();
      res.writeHead(307, { location: `${redirect.to}${path}` });
      res.end();
      return;
    }
    const status = this.take('status', method, path);
    if (status && status.kind === 'status') {
      record.status = status.status;
      req.resume();
      res.writeHead(status.status, status.retryAfter ? { 'retry-after': status.retryAfter } : {});
      res.end('{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}');
      return;
    }
    const cut = this.take('cut', method, path);
    const headers = { ...req.headers };
    if (this.faults.some((x) => x.kind === 'ignore-range' && x.match.test(`${method} ${path}`))) {
      delete headers.range;
    }
    const flip = this.faults.find((x) => x.kind === 'flip' && x.match.test(`${method} ${path}`));
    const upstream = http.request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method,
        path,
        headers,
      },
      (up) => {
        record.status = up.statusCode;
        res.writeHead(up.statusCode ?? 502, up.headers);
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          let out = chunk;
          if (flip && flip.kind === 'flip' && flip.at >= sent && flip.at < sent + chunk.length) {
            out = Buffer.from(chunk);
            out[flip.at - sent] = out[flip.at - sent]! ^ 0xff;
          }
          if (cut && cut.kind === 'cut' && sent + out.length > cut.afterBytes) {
            // Simulates a network failure: the socket dies mid-body, after what was sent so far is flushed.
            up.pause();
            up.removeAllListeners('data');
            res.write(out.subarray(0, Math.max(0, cut.afterBytes - sent)), () => {
              up.destroy();
              res.socket?.destroy();
            });
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
