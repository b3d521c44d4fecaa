import { InvalidSettingError } from '../errors.js';

/** A registry silent this long while we wait for it (an answer, or the next bytes of a body) has stalled. */
export const defaultStallTimeoutMs = 30_000;

/**
 * Stalled tries of one request or blob in a row, without new bytes in between, before giving up: with
 * the default timeout a registry that stalls every time fails a pull in about 1.5 minutes.
 */
export const stallTries = 3;

/** The environment variable that sets the registry stall timeout, in seconds. */
export const STALL_TIMEOUT_ENV = 'III_REGISTRY_STALL_TIMEOUT';

/** The stall timeout from `$III_REGISTRY_STALL_TIMEOUT` (seconds, fractions allowed), else the default. */
export function stallTimeoutFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[STALL_TIMEOUT_ENV]?.trim();
  if (!raw) return defaultStallTimeoutMs;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new InvalidSettingError(`$${STALL_TIMEOUT_ENV}`, raw, 'a number of seconds greater than 0');
  }
  return Math.round(seconds * 1000);
}

/** Why a try ended: the registry said nothing for `timeoutMs` (the cause given to retries). */
export class StallTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(readonly timeoutMs: number) {
    super(`no data for ${timeoutMs / 1000} s`);
  }
}
