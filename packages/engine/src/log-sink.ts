/** The level of a line a worker logs through the engine. */
export type WorkerLogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Receives every log line a worker sends to the engine (`engine::log::*` calls and `/otel` LOGS
 * records), keyed by the worker's name, so the worker manager can append it to that worker's log.
 */
export type LogSink = (workerName: string, level: WorkerLogLevel, message: string, data?: unknown) => void;
