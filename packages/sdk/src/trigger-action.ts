import type { TriggerActionBody } from './protocol/frames.js';

/** Builds the `action` of {@link WorkerClient.trigger}. */
export const TriggerAction = {
  /** Fire-and-forget: the engine forwards the call and nobody waits for a result. */
  Void: (): TriggerActionBody => ({ type: 'void' }),
  /** Route the call through a named queue (needs a queue provider in the project). */
  Enqueue: (opts: { queue: string }): TriggerActionBody => ({ type: 'enqueue', ...opts }),
} as const;
