import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The secret that proves a client is the owner of the engine (the user who started `iii`): the
 * engine keeps it in its project's `engine.json` under `$III_HOME/projects/` (0600 in a 0700 directory) and clients present it
 * as `Authorization: Bearer <token>` on the WebSocket handshake, as the official SDKs do with
 * `$III_TOKEN`.
 */
export function createManagementToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when there is none. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(value ?? '');
  return match?.[1];
}

/**
 * Compares in constant time. Both sides are hashed first, so neither the length nor any prefix
 * of the expected token shows in how long the comparison takes.
 */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined || expected === '') return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}
