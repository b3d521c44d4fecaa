/** How a client retries after losing the engine. */
export interface ReconnectionConfig {
  /** First delay. Default 1000 ms. */
  initialDelayMs: number;
  /** Upper bound of the delay before jitter. Default 30000 ms. */
  maxDelayMs: number;
  /** Growth per attempt. Default 2. */
  backoffMultiplier: number;
  /** Random spread as a fraction of the delay, both ways. Default 0.3 (±30%). */
  jitterFactor: number;
  /** Attempts before giving up; -1 (default) retries forever. */
  maxRetries: number;
}

/** Reconnect after 1 s, doubling up to 30 s with 30 % jitter, forever. */
export const DEFAULT_RECONNECTION_CONFIG: ReconnectionConfig = {
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  backoffMultiplier: 2,
  jitterFactor: 0.3,
  maxRetries: -1,
};

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential, capped, with symmetric jitter so a
 * fleet of workers does not reconnect in lockstep after an engine restart.
 */
export function reconnectDelayMs(
  attempt: number,
  config: ReconnectionConfig,
  random: () => number = Math.random,
): number {
  const exponential = config.initialDelayMs * config.backoffMultiplier ** attempt;
  const capped = Math.min(exponential, config.maxDelayMs);
  const jitter = capped * config.jitterFactor * (2 * random() - 1);
  return Math.max(0, Math.floor(capped + jitter));
}
