import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

export interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** A Buffer can be re-sent on retry; a stream is sent once. */
  body?: Buffer | Readable;
  signal?: AbortSignal;
  /** Skip certificate verification (only for registries the user marked insecure). */
  insecureTls?: boolean;
}

/** What the client reads of a response's headers (fetch's `Headers` has it too). */
export interface ResponseHeaders {
  get(name: string): string | null;
}

export interface HttpResponse {
  status: number;
  headers: ResponseHeaders;
  /** Always present (empty for HEAD); the caller consumes or destroys it. */
  body: Readable;
}

/** One HTTP exchange, no redirects followed: the registry client handles auth, redirects and retries. */
export type HttpTransport = (request: HttpRequest) => Promise<HttpResponse>;

export type FetchLike = (input: string, init: RequestInit & { duplex?: 'half' }) => Promise<Response>;

/**
 * node:http's headers behind `get`, with `Headers`' rules (any case, repeated values joined). Not a
 * `new Headers()`: the first use of that global loads Node's bundled fetch implementation, tens of
 * milliseconds of every `iii worker add` that only talks node:http.
 */
function toHeaders(raw: http.IncomingHttpHeaders): ResponseHeaders {
  return {
    get(name) {
      const value = raw[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/**
 * The default transport, on node:http/https: native streams end to end (no web-stream copies on the
 * blob path), keep-alive agents owned by this transport, and extra CA certificates, which Node's
 * global fetch cannot take without an importable undici.
 */
export function nodeHttpTransport(
  options: { ca?: (string | Buffer)[]; idleTimeoutMs?: number } = {},
): HttpTransport & {
  close(): void;
} {
  // A connection silent this long is dead: fail it so the client retries or resumes.
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  // node:https and node:tls are loaded with the first HTTPS request: a registry on loopback speaks
  // plain HTTP, and loading them cost each of its commands ~2 ms.
  let tlsSide: { https: typeof https; verified: https.Agent; insecure: https.Agent } | undefined;
  const httpsSide = () => {
    if (tlsSide) return tlsSide;
    const require = createRequire(import.meta.url);
    const https = require('node:https') as typeof import('node:https');
    const tls = require('node:tls') as typeof import('node:tls');
    const ca = options.ca?.length ? [...tls.rootCertificates, ...options.ca] : undefined;
    tlsSide = {
      https,
      verified: new https.Agent({ keepAlive: true, maxSockets: 16, ...(ca ? { ca } : {}) }),
      insecure: new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false }),
    };
    return tlsSide;
  };

  const transport = (req: HttpRequest): Promise<HttpResponse> =>
    new Promise((resolve, reject) => {
      const isHttps = req.url.protocol === 'https:';
      const side = isHttps ? httpsSide() : undefined;
      const mod = side ? side.https : http;
      const agent = side ? (req.insecureTls ? side.insecure : side.verified) : httpAgent;
      const headers: Record<string, string> = { ...req.headers };
      if (Buffer.isBuffer(req.body)) headers['content-length'] = String(req.body.length);
      const r = mod.request(req.url, { method: req.method, headers, agent, signal: req.signal }, (res) => {
        resolve({ status: res.statusCode ?? 0, headers: toHeaders(res.headers), body: res });
      });
      r.setTimeout(idleTimeoutMs, () => {
        r.destroy(Object.assign(new Error(`no data for ${idleTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
      });
      r.on('error', reject);
      if (req.body === undefined) r.end();
      else if (Buffer.isBuffer(req.body)) r.end(req.body);
      else {
        req.body.on('error', (err) => r.destroy(err));
        req.body.pipe(r);
      }
    });
  return Object.assign(transport, {
    close() {
      httpAgent.destroy();
      tlsSide?.verified.destroy();
      tlsSide?.insecure.destroy();
    },
  });
}

/** A transport over any fetch implementation (the global one, or a test's recording wrapper). */
export function fetchTransport(fetchFn: FetchLike): HttpTransport {
  return async (req) => {
    const body =
      req.body === undefined
        ? undefined
        : Buffer.isBuffer(req.body)
          ? new Uint8Array(req.body)
          : (Readable.toWeb(req.body) as unknown as ReadableStream<Uint8Array>);
    const res = await fetchFn(req.url.toString(), {
      method: req.method,
      headers: req.headers,
      redirect: 'manual',
      signal: req.signal,
      ...(body !== undefined ? { body } : {}),
      ...(body instanceof ReadableStream ? { duplex: 'half' as const } : {}),
    });
    const stream = res.body
      ? Readable.fromWeb(res.body as unknown as import('node:stream/web').ReadableStream)
      : Readable.from([]);
    return { status: res.status, headers: res.headers, body: stream };
  };
}

/** The low-level error code of a failed request, whether it came from node:http or fetch. */
export function networkErrorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
