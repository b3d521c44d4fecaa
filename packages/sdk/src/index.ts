/**
 * @iii/sdk: the Node/TypeScript SDK for iii workers. Wire-compatible with the iii engine protocol and
 * the official `iii-sdk` package.
 */
export { EngineConnectionError } from './engine-connection-error.js';
export { InvocationError, type InvocationErrorInit, isErrorBody } from './invocation-error.js';
export { Logger, type LogLevel } from './logger.js';
export { DEFAULT_ENGINE_URL, EngineFunctions } from './protocol/engine-functions.js';
export type {
  ErrorBody,
  ErrorFrame,
  Frame,
  FrameOf,
  HttpInvocationConfig,
  InvocationResultFrame,
  InvokeFunctionFrame,
  JsonValue,
  PingFrame,
  PongFrame,
  ReattachFrame,
  RegisterFunctionFrame,
  RegisterTriggerFrame,
  RegisterTriggerTypeFrame,
  RegistrationRejectedFrame,
  TriggerActionBody,
  TriggerRegistrationResultFrame,
  UnregisterFunctionFrame,
  UnregisterTriggerFrame,
  UnregisterTriggerTypeFrame,
  WorkerRegisteredFrame,
} from './protocol/frames.js';
export { MessageType } from './protocol/message-type.js';
export { parseFrame } from './protocol/parse-frame.js';
export {
  DEFAULT_RECONNECTION_CONFIG,
  type ReconnectionConfig,
  reconnectDelayMs,
} from './reconnect-backoff.js';
export { registerWorker } from './register-worker.js';
export { TriggerAction } from './trigger-action.js';
export {
  type ConnectionState,
  type FunctionHandler,
  type FunctionRef,
  type RegisterFunctionOptions,
  type TriggerConfig,
  type TriggerHandler,
  type TriggerRequest,
  type TriggerTypeOptions,
  WorkerClient,
  type WorkerOptions,
} from './worker-client.js';
export { defaultEngineAddress, defaultWorkerName, type Env } from './worker-defaults.js';
