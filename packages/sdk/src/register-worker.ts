import { WorkerClient, type WorkerOptions } from './worker-client.js';
import { defaultEngineAddress, defaultHeaders, defaultWorkerName } from './worker-defaults.js';

/**
 * Connects a worker to the iii engine and returns its client at once; the connection is made (and
 * remade after any loss) in the background.
 *
 * @param address WebSocket URL of the engine. Default `$III_URL`, then `$III_ENGINE_URL`, then
 *   `ws://localhost:49134`. With `$III_TOKEN` set, the handshake carries `Authorization: Bearer
 *   $III_TOKEN`, which lets the engine's owner call its management functions.
 */
export function registerWorker(address?: string, options: WorkerOptions = {}): WorkerClient {
  return new WorkerClient(address ?? defaultEngineAddress(), {
    ...options,
    headers: defaultHeaders(options.headers),
    workerName: options.workerName ?? defaultWorkerName(),
  });
}
