import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** What a test needs to reach a registry: its base URL and, for TLS, the CA to trust. */
export interface RegistryEndpoint {
  url: string;
  caFile?: string;
}

export interface RegistryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text(): string;
  json(): unknown;
}

export interface RegistryRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  signal?: AbortSignal;
}

/**
 * One HTTP(S) request to a test registry (or any URL), trusting the registry's self-signed CA.
 * Uses node:http(s) because global fetch cannot take a per-request CA. Bodies are buffered: for
 * manifests, catalogs and small blobs in tests only.
 */
export function registryRequest(
  endpoint: RegistryEndpoint,
  pathOrUrl: string,
  init: RegistryRequestInit = {},
): Promise<RegistryResponse> {
  const url = new URL(pathOrUrl, endpoint.url);
  const ca = url.protocol === 'https:' && endpoint.caFile ? readFileSync(endpoint.caFile) : undefined;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { method: init.method ?? 'GET', headers: init.headers, ca, signal: init.signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text: () => body.toString('utf8'),
            json: () => JSON.parse(body.toString('utf8')) as unknown,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
