import type { ErrorBody, HttpInvocationConfig } from '@iii/sdk';

/**
 * Calls an HTTP-invoked function: POSTs (or the configured method) the JSON data and takes the JSON
 * response as the result. Failures become error bodies, never exceptions, since the caller waits on a frame.
 */
export async function invokeOverHttp(
  config: HttpInvocationConfig,
  data: unknown,
  fetchImpl: typeof fetch = fetch,
): Promise<{ result: unknown } | { error: ErrorBody }> {
  try {
    const method = (config.method || 'POST').toUpperCase();
    const response = await fetchImpl(config.url, {
      method,
      headers: { 'content-type': 'application/json', ...config.headers },
      body: method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify(data ?? null),
      signal: AbortSignal.timeout(config.timeout_ms ?? 30_000),
    });
    const text = await response.text();
    if (!response.ok) {
      return { error: { code: 'http_error', message: `HTTP ${response.status}: ${text.slice(0, 500)}` } };
    }
    if (text === '') return { result: null };
    try {
      return { result: JSON.parse(text) };
    } catch {
      return { result: text };
    }
  } catch (error) {
    return { error: { code: 'http_error', message: (error as Error).message } };
  }
}
