import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

export interface RunCommandOptions {
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Where the command's stdout and stderr go (builder progress); discarded when absent. */
  output?: Writable;
}

export interface CommandOutcome {
  exitCode: number | null;
  /** The last lines the command wrote, for error messages. */
  tail: string;
}

const TAIL_BYTES = 4096;

/** Runs a command to completion, streaming its output; a spawn failure (e.g. ENOENT) rejects. */
export function runCommand(cmd: string, args: readonly string[], options: RunCommandOptions = {}) {
  return new Promise<CommandOutcome>((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: options.env,
      signal: options.signal,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const collect = (chunk: Buffer) => {
      options.output?.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('close', (code) => resolve({ exitCode: code, tail }));
  });
}
