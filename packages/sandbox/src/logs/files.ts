import { join } from 'node:path';
import type { LogStream } from './record.js';

export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_FILES = 3;

/** `<dir>/stdout.log` is the live file; `.1` is the previous one, up to `.<maxFiles-1>`. */
export function logFile(dir: string, stream: LogStream, generation = 0): string {
  return join(dir, generation === 0 ? `${stream}.log` : `${stream}.log.${generation}`);
}
