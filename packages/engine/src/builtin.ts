import type { JsonValue } from '@iii/sdk';
import type { WorkerConnection } from './worker-connection.js';

/** What a built-in function knows about its call. */
export interface BuiltinContext {
  /** The connection that called, if it is still connected (absent for calls made by the engine). */
  caller: WorkerConnection | undefined;
  callerWorkerId: string | undefined;
}

/**
 * A function served by the engine itself. Its return value is the result; a thrown error with a string
 * `code` becomes `{code, message}`, any other error `invocation_failed`.
 */
// biome-ignore lint/suspicious/noExplicitAny: handlers declare the input they validate, like worker functions.
export type BuiltinHandler = (data: any, context: BuiltinContext) => unknown | Promise<unknown>;

/** A built-in function of the engine: its handler, description, metadata and whether only the owner may call it. */
export interface BuiltinDefinition {
  handler: BuiltinHandler;
  description?: string;
  metadata?: Record<string, JsonValue>;
  /**
   * Only the engine's owner (a connection that presented the management token) may call it or see
   * it listed; anyone else gets `forbidden`. For anything that reveals a worker's environment or
   * changes its state.
   */
  ownerOnly?: boolean;
}

/** An error a built-in throws to answer with a specific code (e.g. `function_not_found`). */
export class BuiltinError extends Error {
  override readonly name = 'BuiltinError';
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}
