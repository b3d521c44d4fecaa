import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenServerOptions {
  /** `service` the registry expects in the token's `aud` claim. */
  service: string;
  /** `issuer` the registry expects in the token's `iss` claim. */
  issuer: string;
  /** PEM of the signing key and of its (self-signed) certificate, which the registry trusts. */
  keyPem: string;
  certPem: string;
  /** Accounts allowed to push and pull. */
  users: Record<string, string>;
  /** Whether a request without credentials gets a pull-only token (Docker Hub's public images). */
  anonymousPull: boolean;
  /** Token lifetime in seconds. */
  expiresIn?: number;
}

export interface TokenServer {
  /** Realm URL, e.g. `http://127.0.0.1:PORT/token`. */
  url: string;
  /** How many token requests the server answered (any outcome). */
  requests(): number;
  close(): Promise<void>;
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** `repository:org/name:pull,push` → access entry. The name may itself contain `:` (never the actions). */
function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const header = req.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * A minimal Docker token server (the flow of Docker Hub and GHCR): `GET <realm>?service=&scope=...`
 * with optional Basic credentials (or the OAuth2 `POST` form with `grant_type=password`) answers `{token, access_token, expires_in, issued_at}`, an RS256 JWT
 * whose `x5c` header carries the certificate the registry's `rootcertbundle` trusts.
 * Known users get the actions they ask for; anonymous callers get only `pull` (when allowed);
 * wrong credentials get 401.
 */
export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const key = createPrivateKey(options.keyPem);
  // The DER of the certificate, base64 (not url) encoded as RFC 7515 requires for x5c.
  const x5c = options.certPem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  const expiresIn = options.expiresIn ?? 300;
  let count = 0;

  /** Issues a token for `params` (service, scope) to `credentials`, or answers 401. */
  const issue = (
    res: ServerResponse,
    params: URLSearchParams,
    credentials: { user: string; password: string } | undefined,
  ) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    let subject = '';
    if (credentials) {
      if (options.users[credentials.user] !== credentials.password) {
        res.setHeader('www-authenticate', 'Basic realm="token"');
        reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] });
        return;
      }
      subject = credentials.user;
    } else if (!options.anonymousPull) {
      res.setHeader('www-authenticate', 'Basic realm="token"');
      reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
      return;
    }
    const access: Access[] = [];
    for (const scope of params.getAll('scope').flatMap((s) => s.split(' '))) {
      const parsed = parseScope(scope);
      if (!parsed) continue;
      const actions = subject
        ? parsed.actions
        : parsed.type === 'repository'
          ? parsed.actions.filter((a) => a === 'pull')
          : [];
      if (actions.length > 0) access.push({ ...parsed, actions });
    }
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [x5c] };
    const claims = {
      iss: options.issuer,
      sub: subject,
      aud: params.get('service') ?? options.service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), key);
    const token = `${signingInput}.${base64url(signature)}`;
    reply(200, {
      token,
      access_token: token,
      expires_in: expiresIn,
      issued_at: new Date(now * 1000).toISOString(),
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    count += 1;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/token' && req.method === 'GET') {
      issue(res, url.searchParams, basicCredentials(req));
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      // OAuth2 password grant (containerd tries it before GET): form fields instead of Basic auth.
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const user = form.get('username');
        const password = form.get('password');
        const credentials =
          form.get('grant_type') === 'password' && user !== null
            ? { user, password: password ?? '' }
            : undefined;
        issue(res, form, credentials ?? basicCredentials(req));
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ errors: [{ code: 'NOT_FOUND', message: 'token endpoint is GET or POST /token' }] }),
    );
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/token`,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
