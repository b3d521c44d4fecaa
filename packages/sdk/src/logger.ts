import { EngineFunctions } from './protocol/engine-functions.js';
import type { WorkerClient } from './worker-client.js';

/** The level of a line a worker logs through the engine. */
export type LogLevel = 'info' | 'warn' | 'error' | 'debug';

const LOG_FUNCTION: Record<LogLevel, string> = {
  info: EngineFunctions.LogInfo,
  warn: EngineFunctions.LogWarn,
  error: EngineFunctions.LogError,
  debug: EngineFunctions.LogDebug,
};

/**
 * Structured logger of a worker. With a client, every line goes to the engine through
 * `engine::log::<level>` (fire-and-forget, queued while reconnecting) and lands in the worker's log,
 * which `iii worker logs` shows. Without one it writes to the console, which for a managed worker is the
 * same log.
 */
export class Logger {
  private readonly client: WorkerClient | undefined;

  constructor(client?: WorkerClient) {
    this.client = client;
  }

  info(message: string, data?: unknown): void {
    this.emit('info', message, data);
  }

  warn(message: string, data?: unknown): void {
    this.emit('warn', message, data);
  }

  error(message: string, data?: unknown): void {
    this.emit('error', message, data);
  }

  debug(message: string, data?: unknown): void {
    this.emit('debug', message, data);
  }

  private emit(level: LogLevel, message: string, data: unknown): void {
    if (!this.client) {
      const line = data === undefined ? [message] : [message, data];
      console[level](...line);
      return;
    }
    void this.client.trigger({
      function_id: LOG_FUNCTION[level],
      // The name rides along because a line logged before the first connect reaches the engine
      // ahead of the worker's own registration.
      payload: { message, data, worker_name: this.client.workerName },
      action: { type: 'void' },
    });
  }
}
