import type { MessageType } from './message-type.js';

/** Any JSON value, as carried in `data`, `result`, `config` and `metadata`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The error body of a failed invocation or trigger registration. */
export interface ErrorBody {
  code: string;
  message: string;
  stacktrace?: string;
}

/** How the engine routes an invocation: fire-and-forget, or through a named queue. */
export type TriggerActionBody = { type: 'void' } | { type: 'enqueue'; queue: string };

/** The HTTP endpoint of a function the engine invokes over HTTP instead of a worker socket. */
export interface HttpInvocationConfig {
  url: string;
  method: string;
  timeout_ms?: number;
  headers?: Record<string, string>;
  auth?: JsonValue;
}

/** engine -> worker, the first frame on every connection. */
export interface WorkerRegisteredFrame {
  type: typeof MessageType.WorkerRegistered;
  worker_id: string;
  reattach_token: string;
}

/** worker -> engine after a reconnect: retires the previous connection if the token matches. */
export interface ReattachFrame {
  type: typeof MessageType.Reattach;
  previous_worker_id: string;
  reattach_token: string;
}

/** worker -> engine: offers a function under `id`, with its description and formats. */
export interface RegisterFunctionFrame {
  type: typeof MessageType.RegisterFunction;
  id: string;
  description?: string;
  request_format?: JsonValue;
  response_format?: JsonValue;
  metadata?: Record<string, JsonValue>;
  invocation?: HttpInvocationConfig;
}

/** worker -> engine: withdraws a function the worker registered. */
export interface UnregisterFunctionFrame {
  type: typeof MessageType.UnregisterFunction;
  id: string;
}

/** Both directions. No `invocation_id` (or `null`) means fire-and-forget. */
export interface InvokeFunctionFrame {
  type: typeof MessageType.InvokeFunction;
  invocation_id?: string | null;
  function_id: string;
  data: JsonValue | undefined;
  metadata?: JsonValue;
  traceparent?: string;
  baggage?: string;
  action?: TriggerActionBody;
}

/** Both directions: exactly one of `result` and `error` is meaningful. */
export interface InvocationResultFrame {
  type: typeof MessageType.InvocationResult;
  invocation_id: string;
  function_id: string;
  result?: JsonValue;
  error?: ErrorBody;
  traceparent?: string;
  baggage?: string;
}

/** worker -> engine: offers a trigger type other workers can register triggers of. */
export interface RegisterTriggerTypeFrame {
  type: typeof MessageType.RegisterTriggerType;
  id: string;
  description: string;
  trigger_request_format?: JsonValue;
  call_request_format?: JsonValue;
}

/** worker -> engine: withdraws a trigger type the worker registered. */
export interface UnregisterTriggerTypeFrame {
  type: typeof MessageType.UnregisterTriggerType;
  id: string;
}

/** worker -> engine, and engine -> the worker that provides `trigger_type`. */
export interface RegisterTriggerFrame {
  type: typeof MessageType.RegisterTrigger;
  id: string;
  trigger_type: string;
  function_id: string;
  config: JsonValue;
  metadata?: JsonValue;
}

/** worker -> engine: removes a trigger the worker registered. */
export interface UnregisterTriggerFrame {
  type: typeof MessageType.UnregisterTrigger;
  id: string;
  trigger_type?: string;
}

/** engine -> worker: whether a trigger registration succeeded, with the error if not. */
export interface TriggerRegistrationResultFrame {
  type: typeof MessageType.TriggerRegistrationResult;
  id: string;
  trigger_type: string;
  function_id: string;
  error?: ErrorBody;
}

/**
 * engine -> worker: a registration the engine refused because another live worker already serves that
 * function id (`FUNCTION_NAMESPACE_CONFLICT`). Only that function is refused; the connection stays open.
 */
export interface RegistrationRejectedFrame {
  type: typeof MessageType.RegistrationRejected;
  code: string;
  namespace: string;
  function_id?: string;
  worker_name?: string;
  /** The worker that serves it (empty when the engine itself does). */
  owner_worker_id: string;
}

/** Keep-alive probe; the other side answers with a {@link PongFrame}. */
export interface PingFrame {
  type: typeof MessageType.Ping;
}

/** The answer to a {@link PingFrame}. */
export interface PongFrame {
  type: typeof MessageType.Pong;
}

/** engine -> worker before closing (e.g. authentication refused). */
export interface ErrorFrame {
  type: typeof MessageType.Error;
  error: ErrorBody;
}

/** Every frame of the protocol, discriminated by `type`. */
export type Frame =
  | WorkerRegisteredFrame
  | ReattachFrame
  | RegisterFunctionFrame
  | UnregisterFunctionFrame
  | InvokeFunctionFrame
  | InvocationResultFrame
  | RegisterTriggerTypeFrame
  | UnregisterTriggerTypeFrame
  | RegisterTriggerFrame
  | UnregisterTriggerFrame
  | TriggerRegistrationResultFrame
  | RegistrationRejectedFrame
  | PingFrame
  | PongFrame
  | ErrorFrame;

/** The frame of a given `type`. */
export type FrameOf<T extends Frame['type']> = Extract<Frame, { type: T }>;
