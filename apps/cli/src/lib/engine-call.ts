import { iiiPaths } from '@iii/config';
import { connectEngine, type EngineControlClient, parseDuration } from '@iii/engine';
import { usageError } from './usage-error.js';

/** Connects to the running `iii` (a clear error when there is none), runs `call`, and disconnects. */
export async function withEngine<T>(call: (client: EngineControlClient) => Promise<T>): Promise<T> {
  const client = await connectEngine({ home: iiiPaths().home });
  try {
    return await call(client);
  } finally {
    await client.close();
  }
}

/** The `--timeout` value in milliseconds; a malformed one is a usage error. */
export function graceMs(value: string): number {
  try {
    return parseDuration(value, '--timeout');
  } catch (err) {
    throw usageError(err);
  }
}
