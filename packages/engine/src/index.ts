/**
 * @iii/engine: the iii engine's WebSocket router for workers and functions, with its built-in functions.
 */

// What this host gives worker sandboxes (`iii system check`); the CLI reaches the sandbox only through the engine.
export { checkHost, type HostCheck, type HostCheckItem } from '@iii/sandbox';
export { type BuiltinContext, type BuiltinDefinition, BuiltinError, type BuiltinHandler } from './builtin.js';
export type { FunctionListEntry } from './builtins/function-builtins.js';
export type { WorkerListEntry } from './builtins/worker-builtins.js';
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS_PER_PEER,
} from './connection-guard.js';
export * from './control/index.js';
export type { LogSink, WorkerLogLevel } from './log-sink.js';
export { bearerToken, createManagementToken, tokenMatches } from './management-token.js';
export * from './manager/index.js';
export { type OtelLogRecord, parseOtelLogs } from './otel-logs.js';
export { isOwner, type Peer } from './peer.js';
export { type ConnectionInfo, type Engine, type EngineOptions, startEngine } from './start-engine.js';
export type { WorkerConnection, WorkerMetadata } from './worker-connection.js';
