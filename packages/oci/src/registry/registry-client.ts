import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { pipeline, Readable } from 'node:stream';
import * as z from 'zod';
import {
  BlobTooShortError,
  DigestMismatchError,
  ImageNotFoundError,
  InvalidManifestError,
  InvalidSettingError,
  OciError,
  RegistryError,
  RegistryStalledError,
  RegistryUnreachableError,
  TlsError,
  UnauthorizedError,
  UnknownHostError,
} from '../errors.js';
import { sha256Digest } from '../image/digest.js';
import { manifestAccept } from '../image/media-types.js';
import type { Descriptor, RawManifest } from '../image/types.js';
import { verifyingStream } from '../image/verified-stream.js';
import { DOCKER_HUB, DOCKER_HUB_API_HOST, type Reference } from '../reference/reference.js';
import { type Credential, type CredentialProvider, dockerConfigCredentials } from './credentials.js';
import {
  type FetchLike,
  fetchTransport,
  type HttpRequest,
  type HttpResponse,
  type HttpTransport,
  networkErrorCode,
  nodeHttpTransport,
} from './http-transport.js';
import { type BlobRange, ResumingBlobStream } from './resuming-blob-stream.js';
import { StallTimeout, stallTimeoutFromEnv, stallTries } from './stall-timeout.js';
import { type AuthChallenge, parseWwwAuthenticate } from './www-authenticate.js';

/** How {@link RegistryClient} retries failed requests: tries, backoff delays. */
export interface RetryOptions {
  /** Total tries per request, first included. Default 5. */
  attempts?: number;
  /** First backoff delay, doubled each retry. Default 250 ms. */
  baseDelayMs?: number;
  /** Cap for backoff and for a server's Retry-After. Default 30 s. */
  maxDelayMs?: number;
}

/** A failed try that the client is about to retry: what a CLI tells a user who would otherwise wait in silence. */
export interface RegistryRetryEvent {
  /** The host the try went to (`host:port`). */
  host: string;
  /** What was asked: `GET /v2/<repo>/manifests/<tag>`, or `layer sha256:…` for a resumed blob. */
  what: string;
  /** The try that failed (1 = the first) and how many this kind of failure is allowed. */
  attempt: number;
  attempts: number;
  /** Why it failed: `ECONNREFUSED`, `HTTP 503`, `no answer for 30 s`… */
  reason: string;
  /** How long the client waits before the next try. */
  delayMs: number;
}

/** Options of {@link RegistryClient}: transport, CA files, credentials, insecure hosts, retries, stall timeout. */
export interface RegistryClientOptions {
  /** HTTP transport; default node:http/https with keep-alive and `caFiles`. */
  transport?: HttpTransport;
  /** Alternatively any fetch implementation (used through `fetchTransport`). */
  fetch?: FetchLike;
  /** Extra CA certificates (PEM files) trusted for HTTPS registries, on top of the system roots. */
  caFiles?: string[];
  /** Default: the user's ~/.docker/config.json (and credential helpers). */
  credentials?: CredentialProvider;
  /** Allow plain HTTP and unverified TLS for every registry (`--insecure`). */
  insecure?: boolean;
  /** Hosts allowed plain HTTP / unverified TLS; default `$III_INSECURE_REGISTRIES` (comma or space separated). */
  insecureRegistries?: string[];
  env?: NodeJS.ProcessEnv;
  retry?: RetryOptions;
  /**
   * How long a registry may stay silent, with no answer to a request or no next byte of a body we
   * wait for, before that try counts as stalled: it is retried (a blob resumes with Range), and after
   * 3 stalled tries in a row without progress the call fails with `RegistryStalledError`. Default
   * `$III_REGISTRY_STALL_TIMEOUT` (seconds), else 30 s.
   */
  stallTimeoutMs?: number;
  /** Called before each retry, so a caller can say why it waits (never called for the last failure). */
  onRetry?: (event: RegistryRetryEvent) => void;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  userAgent?: string;
}

interface Endpoint {
  base: URL;
  insecureTls: boolean;
}

const MANIFEST_LIMIT = 8 << 20;
/** A request body up to this size goes out at once, so its answer is timed from the start. */
const TIMED_BODY_LIMIT = 64 << 10;
const LOOPBACK_REFUSED_HINT =
  'Nothing listens at that address: start the registry, or check the host and port in the image reference.';
const TLS_CODES = /^(ERR_SSL|ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|EPROTO$|ERR_OSSL)/;
const tokenReplySchema = z.object({
  token: z.string().optional(),
  access_token: z.string().optional(),
  expires_in: z.number().optional(),
});
const errorsReplySchema = z.object({
  errors: z.array(z.object({ code: z.string().optional(), message: z.string().optional() })),
});

export function isLoopbackHost(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.split(':')[0]!;
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function sleepDefault(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Who answers a request: the registry, or the token service its challenge names. */
type Service = 'registry' | 'token service';

/** How long a small reply may pause mid-body, and the error that says it stalled. */
interface Silence {
  ms: number;
  error: () => Error;
}

async function readBody(stream: Readable, limit: number, silence?: Silence): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const timer = silence && setTimeout(() => stream.destroy(silence.error()), silence.ms);
  try {
    for await (const chunk of stream) {
      timer?.refresh();
      total += (chunk as Buffer).length;
      if (total > limit) {
        stream.destroy();
        throw new InvalidManifestError('registry reply', `larger than ${limit} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks);
}

/** How errors and progress name a blob: a layer, or the image config. */
function blobLabel(descriptor: { digest: string; mediaType?: string }): string {
  return descriptor.mediaType?.includes('config')
    ? `config blob ${descriptor.digest}`
    : `layer ${descriptor.digest}`;
}

function drain(res: HttpResponse): void {
  res.body.on('error', () => {});
  res.body.resume();
}

/** The registry's error message from a Distribution error body, if it sent one. */
async function errorDetail(res: HttpResponse): Promise<{ code?: string; message: string }> {
  try {
    const body = await readBody(res.body, 64 << 10);
    const parsed = errorsReplySchema.safeParse(JSON.parse(body.toString('utf8')));
    const first = parsed.success ? parsed.data.errors[0] : undefined;
    if (first) return { code: first.code, message: [first.code, first.message].filter(Boolean).join(': ') };
  } catch {
    // Not a Distribution error body; the status says enough.
  }
  return { message: `HTTP ${res.status}` };
}

/**
 * A client for the OCI Distribution API v2. It resolves the endpoint (HTTPS, or HTTP where allowed),
 * answers auth challenges (bearer tokens cached per scope, Basic), follows redirects without leaking
 * credentials to other hosts, and retries network errors, 5xx and 429 with backoff.
 */
export class RegistryClient {
  private readonly transport: HttpTransport & { close?: () => void };
  private readonly credentials: CredentialProvider;
  private readonly insecure: boolean;
  private readonly insecureRegistries: Set<string>;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly stallTimeoutMs: number;
  private readonly onRetry: ((event: RegistryRetryEvent) => void) | undefined;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly userAgent: string;
  private readonly endpoints = new Map<string, Promise<Endpoint>>();
  private readonly challenges = new Map<string, AuthChallenge | null>();
  /** In-flight or fetched tokens per registry and scope set, so parallel requests share one fetch. */
  private readonly tokens = new Map<string, Promise<{ header: string; expiresAt: number }>>();
  private readonly credentialCache = new Map<string, Promise<Credential | undefined>>();

  constructor(options: RegistryClientOptions = {}) {
    const env = options.env ?? process.env;
    if (options.stallTimeoutMs !== undefined && !(options.stallTimeoutMs > 0)) {
      throw new InvalidSettingError(
        'stallTimeoutMs',
        String(options.stallTimeoutMs),
        'a number of milliseconds greater than 0',
      );
    }
    this.stallTimeoutMs = options.stallTimeoutMs ?? stallTimeoutFromEnv(env);
    this.onRetry = options.onRetry;
    if (options.transport) this.transport = options.transport;
    else if (options.fetch) this.transport = fetchTransport(options.fetch);
    else {
      this.transport = nodeHttpTransport({
        ca: (options.caFiles ?? []).map((f) => readFileSync(f)),
        // Only a backstop (uploads, long backpressure pauses): stalls are the client's to detect.
        idleTimeoutMs: Math.max(60_000, 2 * this.stallTimeoutMs),
      });
    }
    this.credentials = options.credentials ?? dockerConfigCredentials({ env });
    this.insecure = options.insecure ?? false;
    this.insecureRegistries = new Set(
      options.insecureRegistries ?? (env.III_INSECURE_REGISTRIES ?? '').split(/[\s,]+/).filter(Boolean),
    );
    this.attempts = Math.max(1, options.retry?.attempts ?? 5);
    this.baseDelayMs = options.retry?.baseDelayMs ?? 250;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 30_000;
    this.sleep = options.sleep ?? sleepDefault;
    this.now = options.now ?? Date.now;
    this.userAgent = options.userAgent ?? 'iii-oci/0';
  }

  /** Closes idle keep-alive connections of the default transport. */
  close(): void {
    this.transport.close?.();
  }

  private allowsPlainHttp(registry: string): boolean {
    return this.insecure || this.insecureRegistries.has(registry) || isLoopbackHost(registry);
  }

  private apiHost(registry: string): string {
    return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
  }

  /** Checks that `registry` speaks the v2 API, and learns its scheme and auth challenge. */
  async ping(registry: string, options: { signal?: AbortSignal } = {}): Promise<{ url: string }> {
    const ep = await this.endpoint(registry, options.signal);
    return { url: new URL('/v2/', ep.base).toString() };
  }

  private endpoint(registry: string, signal?: AbortSignal): Promise<Endpoint> {
    let ep = this.endpoints.get(registry);
    if (!ep) {
      ep = this.probe(registry, signal);
      this.endpoints.set(registry, ep);
      ep.catch(() => this.endpoints.delete(registry));
    }
    return ep;
  }

  private async probe(registry: string, signal?: AbortSignal): Promise<Endpoint> {
    const host = this.apiHost(registry);
    const insecureTls = this.insecure || this.insecureRegistries.has(registry);
    const tls: Endpoint = { base: new URL(`https://${host}`), insecureTls };
    const plain: Endpoint = { base: new URL(`http://${host}`), insecureTls };
    // Like Docker, HTTPS first, and a registry allowed plain HTTP is tried once over TLS, then over HTTP;
    // but a loopback registry over plain HTTP first: that is how one runs on a developer's machine
    // (`registry:2`), and a TLS handshake attempt costs every command ~8 ms. Nothing secret goes in
    // the probe, and an HTTPS server answering plain HTTP is not taken for an endpoint (below).
    const candidates: Endpoint[] = !this.allowsPlainHttp(registry)
      ? [tls]
      : isLoopbackHost(host)
        ? [plain, tls]
        : [tls, plain];
    let lastError: unknown;
    for (const [i, ep] of candidates.entries()) {
      try {
        const res = await this.send(
          { method: 'GET', url: new URL('/v2/', ep.base), headers: {}, signal, insecureTls },
          i === 0 && candidates.length > 1 ? 1 : this.attempts,
        );
        drain(res);
        // Only a v2 answer counts: an HTTPS server answering plain HTTP with 400 is not a registry endpoint.
        if (res.status !== 200 && res.status !== 401 && res.status !== 403) {
          throw new RegistryUnreachableError(host, `${ep.base.origin}/v2/ answered HTTP ${res.status}`);
        }
        if (res.status === 401) this.learnChallenge(registry, res.headers.get('www-authenticate'));
        else this.challenges.set(registry, null);
        return ep;
      } catch (err) {
        // The HTTPS failure explains more than a failed HTTP fallback (e.g. an untrusted certificate).
        if (!(lastError instanceof TlsError)) lastError = err;
        if (err instanceof UnknownHostError || signal?.aborted) throw err;
        // A loopback port refused over one scheme has no listener for the other either: fail now.
        if (
          err instanceof RegistryUnreachableError &&
          networkErrorCode(err.cause) === 'ECONNREFUSED' &&
          isLoopbackHost(host)
        ) {
          throw err;
        }
        if (!(err instanceof TlsError || err instanceof RegistryUnreachableError)) throw err;
      }
    }
    throw lastError;
  }

  private learnChallenge(registry: string, header: string | null): AuthChallenge | undefined {
    const challenges = header ? parseWwwAuthenticate(header) : [];
    const ch = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (ch) this.challenges.set(registry, ch);
    return ch;
  }

  private credential(registry: string): Promise<Credential | undefined> {
    let c = this.credentialCache.get(registry);
    if (!c) {
      c = this.credentials(registry);
      this.credentialCache.set(registry, c);
      c.catch(() => this.credentialCache.delete(registry));
    }
    return c;
  }

  private async authorization(
    registry: string,
    scopes: string[],
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const ch = this.challenges.get(registry);
    if (!ch) return undefined;
    const cred = await this.credential(registry);
    if (ch.scheme === 'basic') {
      if (cred?.kind !== 'basic') return undefined;
      return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    }
    if (ch.scheme !== 'bearer') return undefined;
    if (cred?.kind === 'registry-token') return `Bearer ${cred.token}`;
    const key = `${registry} ${[...scopes].sort().join(' ')}`;
    const cached = this.tokens.get(key);
    if (cached) {
      const token = await cached.catch(() => undefined);
      if (token && token.expiresAt > this.now()) return token.header;
      if (this.tokens.get(key) === cached) this.tokens.delete(key);
      else return this.authorization(registry, scopes, signal);
    }
    // Not tied to one caller's signal: other requests may be waiting for the same token.
    const pending = this.fetchToken(registry, ch, scopes, cred, undefined);
    this.tokens.set(key, pending);
    pending.catch(() => {
      if (this.tokens.get(key) === pending) this.tokens.delete(key);
    });
    return (await pending).header;
  }

  private async fetchToken(
    registry: string,
    ch: AuthChallenge,
    scopes: string[],
    cred: Credential | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ header: string; expiresAt: number }> {
    const realm = ch.params.realm;
    if (!realm) throw new UnauthorizedError(registry, 401, 'bearer challenge without a realm');
    const url = new URL(realm);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.allowsPlainHttp(url.host))) {
      throw new UnauthorizedError(registry, 401, `token service ${realm} is not HTTPS`);
    }
    const insecureTls = this.insecure || this.insecureRegistries.has(url.host);
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    let req: HttpRequest;
    if (cred?.kind === 'identity-token') {
      // OAuth2 refresh-token grant, as Docker does for `identitytoken` logins.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: cred.token,
        client_id: 'iii',
        ...(ch.params.service ? { service: ch.params.service } : {}),
        ...(scopes.length ? { scope: scopes.join(' ') } : {}),
      });
      headers['content-type'] = 'application/x-www-form-urlencoded';
      req = { method: 'POST', url, headers, body: Buffer.from(form.toString()), signal, insecureTls };
    } else {
      if (ch.params.service) url.searchParams.set('service', ch.params.service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (cred?.kind === 'basic') {
        headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
      }
      req = { method: 'GET', url, headers, signal, insecureTls };
    }
    const res = await this.send(req, this.attempts, 'token service');
    if (res.status === 401 || res.status === 403) {
      const d = await errorDetail(res);
      throw new UnauthorizedError(registry, res.status, `token service refused: ${d.message}`);
    }
    if (res.status !== 200) {
      const d = await errorDetail(res);
      throw new RegistryError(res.status, `token service ${url.host} answered ${d.message}`);
    }
    const body = await readBody(
      res.body,
      1 << 20,
      this.silence(url.host, `GET ${url.pathname}`, 'token service'),
    );
    let parsed: z.infer<typeof tokenReplySchema>;
    try {
      parsed = tokenReplySchema.parse(JSON.parse(body.toString('utf8')));
    } catch (err) {
      throw new RegistryError(res.status, `token service ${url.host} sent an invalid reply`, { cause: err });
    }
    const token = parsed.token ?? parsed.access_token;
    if (!token) throw new RegistryError(res.status, `token service ${url.host} sent no token`);
    // Refresh a little early so a token never expires between check and use.
    const ttl = Math.max(10, (parsed.expires_in ?? 60) - 10);
    return { header: `Bearer ${token}`, expiresAt: this.now() + ttl * 1000 };
  }

  /** A reply body that pauses longer than the stall timeout fails with RegistryStalledError. */
  private silence(host: string, what: string, service: Service = 'registry'): Silence {
    return {
      ms: this.stallTimeoutMs,
      error: () =>
        new RegistryStalledError(host, what, {
          timeoutMs: this.stallTimeoutMs,
          tries: 1,
          headers: false,
          service,
        }),
    };
  }

  /**
   * One exchange with retries on network errors, 5xx and 429 (Retry-After honoured). A request whose
   * answer does not start within the stall timeout is retried too, at most 3 times in all. A refused
   * connection to a loopback address fails at once: nothing listens there, and waiting will not
   * change that as it may for a remote host that is restarting.
   */
  private async send(
    req: HttpRequest,
    attempts: number,
    service: Service = 'registry',
  ): Promise<HttpResponse> {
    const replayable = !(req.body instanceof Readable);
    const host = req.url.host;
    const what = `${req.method} ${req.url.pathname}`;
    // An upload may take longer than the timeout to send: only small requests are timed from the start.
    const timed =
      req.body === undefined || (Buffer.isBuffer(req.body) && req.body.length <= TIMED_BODY_LIMIT);
    const stallLimit = Math.min(attempts, stallTries);
    let stalls = 0;
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= attempts || !replayable;
      let res: HttpResponse;
      const silent = timed ? new AbortController() : undefined;
      const timer =
        silent && setTimeout(() => silent.abort(new StallTimeout(this.stallTimeoutMs)), this.stallTimeoutMs);
      const signal = silent
        ? req.signal
          ? AbortSignal.any([req.signal, silent.signal])
          : silent.signal
        : req.signal;
      try {
        res = await this.transport({
          ...req,
          headers: { 'user-agent': this.userAgent, ...req.headers },
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        if (req.signal?.aborted) throw req.signal.reason ?? err;
        if (silent?.signal.aborted) {
          stalls++;
          if (stalls >= stallLimit || last) {
            throw new RegistryStalledError(
              host,
              what,
              { timeoutMs: this.stallTimeoutMs, tries: stalls, headers: true, service },
              { cause: err },
            );
          }
          await this.pause(req, {
            host,
            what,
            attempt: stalls,
            attempts: stallLimit,
            reason: `no answer for ${this.stallTimeoutMs / 1000} s`,
            delayMs: this.backoff(attempt),
          });
          continue;
        }
        const code = networkErrorCode(err) ?? '';
        if (code === 'ENOTFOUND' || code === 'EAI_NONAME') throw new UnknownHostError(host, { cause: err });
        if (TLS_CODES.test(code))
          throw new TlsError(host, `${code}: ${(err as Error).message}`, { cause: err });
        if (code === 'ECONNREFUSED' && isLoopbackHost(host)) {
          throw new RegistryUnreachableError(host, 'connection refused (ECONNREFUSED)', {
            cause: err,
            hint: LOOPBACK_REFUSED_HINT,
          });
        }
        if (last) {
          throw new RegistryUnreachableError(host, code || (err as Error).message, { cause: err });
        }
        await this.pause(req, {
          host,
          what,
          attempt,
          attempts,
          reason: code || (err as Error).message,
          delayMs: this.backoff(attempt),
        });
        continue;
      } finally {
        clearTimeout(timer);
      }
      const retryable = res.status === 429 || res.status === 408 || (res.status >= 500 && res.status !== 501);
      if (retryable && !last) {
        drain(res);
        await this.pause(req, {
          host,
          what,
          attempt,
          attempts,
          reason: `HTTP ${res.status}`,
          delayMs: this.retryDelay(res, attempt),
        });
        continue;
      }
      return res;
    }
  }

  /** Tells the caller a retry is coming, then waits for it. */
  private async pause(req: HttpRequest, event: RegistryRetryEvent): Promise<void> {
    this.onRetry?.(event);
    await this.sleep(event.delayMs, req.signal);
  }

  private backoff(attempt: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
  }

  private retryDelay(res: HttpResponse, attempt: number): number {
    const header = res.headers.get('retry-after');
    if (header) {
      const seconds = Number(header);
      const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - this.now();
      if (Number.isFinite(ms)) return Math.min(this.maxDelayMs, Math.max(0, ms));
    }
    return this.backoff(attempt);
  }

  /**
   * An authenticated request to `registry`: answers a 401 challenge once, then follows redirects
   * (blob storage), sending Authorization only to the registry's own origin.
   */
  async request(
    registry: string,
    req: {
      method: string;
      /** Path like `/v2/<repo>/manifests/<ref>`, or an absolute URL (upload locations). */
      path: string;
      scopes: string[];
      headers?: Record<string, string>;
      body?: Buffer | Readable;
      signal?: AbortSignal;
    },
  ): Promise<HttpResponse> {
    const ep = await this.endpoint(registry, req.signal);
    const url = new URL(req.path, ep.base);
    for (let authTry = 0; ; authTry++) {
      const auth = await this.authorization(registry, req.scopes, req.signal);
      const res = await this.followRedirects(
        { method: req.method, url, headers: req.headers ?? {}, body: req.body, signal: req.signal },
        ep,
        auth,
      );
      if (res.status === 401 && authTry === 0 && !(req.body instanceof Readable)) {
        const before = this.challenges.get(registry);
        const ch = this.learnChallenge(registry, res.headers.get('www-authenticate'));
        const hadToken = auth !== undefined;
        if (ch && (!hadToken || before?.scheme !== ch.scheme || ch.scheme === 'bearer')) {
          drain(res);
          this.tokens.delete(`${registry} ${[...req.scopes].sort().join(' ')}`);
          continue;
        }
      }
      return res;
    }
  }

  private async followRedirects(
    req: HttpRequest,
    ep: Endpoint,
    auth: string | undefined,
  ): Promise<HttpResponse> {
    let current = req;
    for (let hop = 0; hop < 10; hop++) {
      const headers = { ...current.headers };
      if (auth && current.url.origin === ep.base.origin) headers.authorization = auth;
      const res = await this.send(
        { ...current, headers, insecureTls: ep.insecureTls && current.url.host === ep.base.host },
        this.attempts,
      );
      const location = res.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(res.status) || !location || current.method === 'POST')
        return res;
      if (current.method === 'PUT' || current.method === 'PATCH') return res;
      drain(res);
      const next = new URL(location, current.url);
      if (next.protocol === 'http:' && current.url.protocol === 'https:' && !this.insecure) {
        throw new RegistryError(res.status, `refusing a redirect from HTTPS to plain HTTP (${next.host})`);
      }
      current = { ...current, url: next, method: res.status === 303 ? 'GET' : current.method };
    }
    throw new RegistryError(310, `too many redirects for ${req.url}`);
  }

  private async fail(res: HttpResponse, ref: Reference, what: string): Promise<never> {
    const d = await errorDetail(res);
    if (res.status === 401 || res.status === 403)
      throw new UnauthorizedError(ref.registry, res.status, d.message);
    if (res.status === 404) {
      if (what.startsWith('blob ')) {
        throw new OciError(
          'BLOB_NOT_FOUND',
          `${what} is missing from ${ref.name} (registry says ${d.message})`,
          'The registry does not have content the image names; push the image again.',
        );
      }
      throw new ImageNotFoundError(ref.toString(), `registry says ${d.message}`);
    }
    throw new RegistryError(
      res.status,
      `registry ${ref.registry} answered ${d.message} for ${what} of ${ref}`,
    );
  }

  private pullScope(ref: Reference): string[] {
    return [`repository:${ref.repository}:pull`];
  }

  /** GETs a manifest (index or image) by tag or digest; a digest reference is verified. */
  async getManifest(
    ref: Reference,
    options: { signal?: AbortSignal; identifier?: string } = {},
  ): Promise<RawManifest & { digest: string }> {
    const id = options.identifier ?? ref.identifier;
    const res = await this.request(ref.registry, {
      method: 'GET',
      path: `/v2/${ref.repository}/manifests/${id}`,
      scopes: this.pullScope(ref),
      headers: { accept: manifestAccept },
      signal: options.signal,
    });
    if (res.status !== 200) return this.fail(res, ref, `manifest ${id}`);
    const bytes = await readBody(res.body, MANIFEST_LIMIT, this.silence(ref.registry, `manifest ${id}`));
    const digest = sha256Digest(bytes);
    if (id.startsWith('sha256:') && digest !== id) {
      throw new DigestMismatchError(id, digest, 'manifest');
    }
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    return { bytes, mediaType, digest };
  }

  /** HEADs a manifest: its digest and type without the body (undefined when absent). */
  async headManifest(
    ref: Reference,
    options: { signal?: AbortSignal; identifier?: string; scopes?: string[] } = {},
  ): Promise<{ digest?: string; mediaType: string; size: number } | undefined> {
    const id = options.identifier ?? ref.identifier;
    const res = await this.request(ref.registry, {
      method: 'HEAD',
      path: `/v2/${ref.repository}/manifests/${id}`,
      scopes: options.scopes ?? this.pullScope(ref),
      headers: { accept: manifestAccept },
      signal: options.signal,
    });
    drain(res);
    if (res.status === 404) return undefined;
    if (res.status !== 200) return this.fail(res, ref, `manifest ${id}`);
    return {
      digest: res.headers.get('docker-content-digest') ?? undefined,
      mediaType: (res.headers.get('content-type') ?? '').split(';')[0]!.trim(),
      size: Number(res.headers.get('content-length') ?? 0),
    };
  }

  /**
   * GETs a blob from `offset` on (Range), unverified. With `expected`, a registry that says the blob
   * ends before `offset` (416 with its size) fails with BlobTooShortError.
   */
  async getBlobRange(
    ref: Reference,
    digest: string,
    options: { offset?: number; signal?: AbortSignal; expected?: { size: number; label: string } } = {},
  ): Promise<BlobRange> {
    const offset = options.offset ?? 0;
    const res = await this.request(ref.registry, {
      method: 'GET',
      path: `/v2/${ref.repository}/blobs/${digest}`,
      scopes: this.pullScope(ref),
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      signal: options.signal,
    });
    const lengthHeader = res.headers.get('content-length');
    const length = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    const withLength = length !== undefined ? { length } : {};
    if (res.status === 206 && offset > 0) return { body: res.body, offset, ...withLength };
    if (res.status === 200) return { body: res.body, offset: 0, ...withLength };
    if (res.status === 416 && offset > 0) {
      drain(res);
      const total = /^bytes \*\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
      const { expected } = options;
      if (expected && total !== undefined && Number(total) < expected.size) {
        throw new BlobTooShortError(ref.registry, expected.label, digest, expected.size, Number(total));
      }
      return this.getBlobRange(ref, digest, { signal: options.signal });
    }
    return this.fail(res, ref, `blob ${digest}`);
  }

  /**
   * A blob as one stream from `offset`, that transparently resumes with a Range request when the
   * connection drops mid-body (up to the retry limit). Unverified: see `openBlob`.
   */
  async openBlobFrom(
    ref: Reference,
    descriptor: Pick<Descriptor, 'digest' | 'size'> & { mediaType?: string },
    offset: number,
    signal?: AbortSignal,
  ): Promise<Readable> {
    const label = blobLabel(descriptor);
    const expected = { size: descriptor.size, label };
    const first = await this.getBlobRange(ref, descriptor.digest, { offset, signal, expected });
    return new ResumingBlobStream(
      (at) => this.getBlobRange(ref, descriptor.digest, { offset: at, signal, expected }),
      first,
      offset,
      {
        registry: ref.registry,
        digest: descriptor.digest,
        label,
        size: descriptor.size,
        attempts: this.attempts,
        stallTimeoutMs: this.stallTimeoutMs,
        stallTries,
        backoff: (n) => this.backoff(n),
        sleep: this.sleep,
        signal,
        onRetry: (r) => this.onRetry?.({ host: ref.registry, what: label, ...r }),
      },
    );
  }

  /** A blob as a stream verified against its descriptor (fails with DigestMismatchError before 'end'). */
  async openBlob(
    ref: Reference,
    descriptor: Pick<Descriptor, 'digest' | 'size'> & { mediaType?: string },
    signal?: AbortSignal,
  ): Promise<Readable> {
    const raw = await this.openBlobFrom(ref, descriptor, 0, signal);
    const verify = verifyingStream(descriptor);
    pipeline(raw, verify, () => {});
    return verify;
  }

  /** Reads a small blob (a config) fully, verified. */
  async getBlobBytes(ref: Reference, descriptor: Descriptor, signal?: AbortSignal): Promise<Buffer> {
    if (descriptor.size > MANIFEST_LIMIT) {
      throw new InvalidManifestError('config', `config blob of ${descriptor.size} bytes is too large`);
    }
    return readBody(await this.openBlob(ref, descriptor, signal), MANIFEST_LIMIT);
  }

  /** The size of a blob in the repository, or undefined when it is not there. */
  async blobExists(
    ref: Reference,
    digest: string,
    options: { signal?: AbortSignal; scopes?: string[] } = {},
  ): Promise<number | undefined> {
    const res = await this.request(ref.registry, {
      method: 'HEAD',
      path: `/v2/${ref.repository}/blobs/${digest}`,
      scopes: options.scopes ?? this.pullScope(ref),
      signal: options.signal,
    });
    drain(res);
    if (res.status === 404) return undefined;
    if (res.status === 200) return Number(res.headers.get('content-length') ?? 0);
    return this.fail(res, ref, `blob ${digest}`);
  }

  pushScopes(ref: Reference, from?: Reference): string[] {
    const scopes = [`repository:${ref.repository}:pull,push`];
    if (from && from.repository !== ref.repository) scopes.push(`repository:${from.repository}:pull`);
    return scopes;
  }

  /**
   * Starts a blob upload; with `mount`, first asks the registry to link the blob from another
   * repository (201 = mounted, nothing to upload).
   */
  async startUpload(
    ref: Reference,
    options: { mount?: { digest: string; from: Reference }; signal?: AbortSignal } = {},
  ): Promise<{ mounted: true } | { mounted: false; location: string }> {
    const from = options.mount && options.mount.from.registry === ref.registry ? options.mount : undefined;
    const query = from
      ? `?mount=${encodeURIComponent(from.digest)}&from=${encodeURIComponent(from.from.repository)}`
      : '';
    const res = await this.request(ref.registry, {
      method: 'POST',
      path: `/v2/${ref.repository}/blobs/uploads/${query}`,
      scopes: this.pushScopes(ref, from?.from),
      headers: { 'content-length': '0' },
      body: Buffer.alloc(0),
      signal: options.signal,
    });
    if (res.status === 201 && from) {
      drain(res);
      return { mounted: true };
    }
    const location = res.headers.get('location');
    if (res.status !== 202 || !location) return this.fail(res, ref, 'blob upload');
    drain(res);
    return { mounted: false, location };
  }

  /** PATCHes one chunk at `offset` of an upload; returns the next upload location. */
  async uploadChunk(
    ref: Reference,
    location: string,
    chunk: Buffer,
    offset: number,
    signal?: AbortSignal,
  ): Promise<string> {
    const res = await this.request(ref.registry, {
      method: 'PATCH',
      path: location,
      scopes: this.pushScopes(ref),
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `${offset}-${offset + chunk.length - 1}`,
      },
      body: chunk,
      signal,
    });
    const next = res.headers.get('location');
    if (res.status !== 202 || !next) return this.fail(res, ref, 'blob chunk upload');
    drain(res);
    return next;
  }

  /** Completes an upload with a final PUT carrying the digest (and the whole body for monolithic uploads). */
  async finishUpload(
    ref: Reference,
    location: string,
    digest: string,
    body: { data: Buffer | Readable; size: number } | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const url = new URL(location, 'http://placeholder');
    url.searchParams.set('digest', digest);
    const path = url.origin === 'http://placeholder' ? `${url.pathname}${url.search}` : url.toString();
    const res = await this.request(ref.registry, {
      method: 'PUT',
      path,
      scopes: this.pushScopes(ref),
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(body?.size ?? 0),
      },
      body: body?.data ?? Buffer.alloc(0),
      signal,
    });
    if (res.status !== 201 && res.status !== 204) return this.fail(res, ref, `blob ${digest} upload`);
    drain(res);
  }

  /** PUTs a manifest or index under a tag or digest. */
  async putManifest(
    ref: Reference,
    identifier: string,
    raw: RawManifest,
    signal?: AbortSignal,
  ): Promise<string> {
    const res = await this.request(ref.registry, {
      method: 'PUT',
      path: `/v2/${ref.repository}/manifests/${identifier}`,
      scopes: this.pushScopes(ref),
      headers: { 'content-type': raw.mediaType },
      body: raw.bytes,
      signal,
    });
    if (res.status !== 201 && res.status !== 200) return this.fail(res, ref, `manifest ${identifier}`);
    drain(res);
    return res.headers.get('docker-content-digest') ?? sha256Digest(raw.bytes);
  }
}
