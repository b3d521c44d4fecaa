import type { Peer } from './peer.js';

/** The level of a line a worker logs through the engine. */
export type WorkerLogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * The connection a log line arrived on, so the receiver can ask the kernel which process holds it
 * (see `connectionsHeldBy`): the name a line claims is only a claim. One object per connection, the
 * same for each of its lines (a receiver may cache what it learnt about it, e.g. in a WeakMap).
 */
export interface LogOrigin {
  id: string;
  connectedAtMs: number;
  /** The client's TCP port. */
  remotePort: number;
  /** The engine's TCP port. */
  localPort: number;
  /** Where it came from and whether it presented the management token. */
  peer: Peer;
}

/**
 * Receives every log line a client sends to the engine (`engine::log::*` calls and `/otel` LOGS
 * records) with the name it claims (the registered name, `worker_name`, the OTel service name, or
 * the worker that served its trace) and the connection it arrived on. The worker manager's sink
 * writes a line to a worker's log only when that worker's processes hold the connection.
 * `origin` is absent only for lines the engine's own code logs in process.
 */
export type LogSink = (
  workerName: string,
  level: WorkerLogLevel,
  message: string,
  data?: unknown,
  origin?: LogOrigin,
) => void;
