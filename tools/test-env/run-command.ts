import { execFile } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  input?: string;
}

/** Thrown when a tool exits non-zero; the message carries its stderr so a failing test explains itself. */
export class CommandFailedError extends Error {
  readonly code = 'TEST_COMMAND_FAILED';
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | string | null,
  ) {
    super(`${command} ${args.join(' ')} failed (exit ${exitCode}):\n${stderr.trim()}`);
    this.name = 'CommandFailedError';
  }
}

/** Runs a tool to completion and returns its stdout. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env, signal: options.signal, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException & { code?: number | string }).code ?? null;
          reject(new CommandFailedError(command, args, `${stderr}\n${error.message}`, code));
        } else {
          resolve(stdout);
        }
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
