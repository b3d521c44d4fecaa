import { SandboxError } from './errors.js';

/**
 * The command of an exec could not be started at all: the runtime said why on its stderr (runc:
 * `exec failed: unable to start container process: exec: "x": executable file not found in $PATH`,
 * crun: ``executable file `x` not found in $PATH``). The exit code is a shell's: 127 for a command
 * that is not there, 126 for one that cannot be executed.
 */
export class ExecStartError extends SandboxError {
  /** What the CLI exits with, as a shell would for this command. */
  readonly exitStatus: number;
  readonly command: string;
  /** The runtime's own words, for --debug. */
  readonly runtimeMessage: string;

  constructor(command: string, kind: 'not-found' | 'not-executable' | 'other', runtimeMessage: string) {
    const bare = !command.includes('/');
    const [code, message, hint, exitCode] =
      kind === 'not-found'
        ? ([
            'EXEC_NOT_FOUND',
            `executable "${command}" not found ${bare ? "in the worker's PATH" : 'in the worker'}`,
            bare
              ? 'Check the name, or give its full path; `-- sh -c "echo $PATH"` shows the PATH it is looked up in.'
              : 'Check the path inside the worker, e.g. with `-- ls <dir>`.',
            127,
          ] as const)
        : kind === 'not-executable'
          ? ([
              'EXEC_NOT_EXECUTABLE',
              `"${command}" cannot be executed in the worker (permission denied)`,
              'Run a file that is executable for the worker user, or run it through its interpreter.',
              126,
            ] as const)
          : ([
              'EXEC_START_FAILED',
              `the command "${command}" could not be started in the worker: ${runtimeMessage}`,
              'Check the command and its working directory (-w) inside the worker.',
              126,
            ] as const);
    super(code, message, hint);
    this.exitStatus = exitCode;
    this.command = command;
    this.runtimeMessage = runtimeMessage;
  }
}

/**
 * Reads one line of the runtime's stderr: the reason it could not start an exec'd command, or
 * undefined when the line is anything else (the command's own output once it runs).
 */
export function parseExecStartFailure(
  line: string,
): { kind: 'not-found' | 'not-executable' | 'other'; message: string } | undefined {
  // runc logs through logrus to stderr (`time="…" level=error msg="…"`) or prints the bare message.
  const logged = /^time="[^"]*" level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"\s*$/.exec(line.trim());
  const message = logged ? logged[1]!.replace(/\\(.)/g, '$1') : line.trim();
  const runc = /^(?:runc )?exec failed: (?:unable to start container process: )?(.*)$/.exec(message);
  const crun = /^crun: (.*)$/.exec(message);
  const reason = runc?.[1] ?? crun?.[1];
  if (reason === undefined) return undefined;
  if (/executable file (?:`[^`]*` )?not found|^exec: "[^"]*": stat .*no such file or directory/i.test(reason))
    return { kind: 'not-found', message: reason };
  if (/^exec: "[^"]*": permission denied|open executable: permission denied/i.test(reason))
    return { kind: 'not-executable', message: reason };
  // Other runtime failures (container gone, bad process spec) are not about the command.
  return runc && /unable to start container process/.test(message)
    ? { kind: 'other', message: reason }
    : undefined;
}

/** The first words of the lines {@link parseExecStartFailure} recognises. */
const RUNTIME_LINE_STARTS = ['time="', 'exec failed', 'runc exec failed', 'crun: '];

/**
 * Sits between the runtime's stderr and the user's until the command has started, so the runtime's
 * start failure can be reported in our words instead of its log line. It holds back only text that
 * could still be the start of such a line; anything else, and everything after the command has
 * shown it runs (output on stdout), flows through unchanged.
 */
export class ExecStderrGate {
  readonly #forward: (chunk: Buffer | string) => void;
  #open = false;
  #held = '';
  #failure: { kind: 'not-found' | 'not-executable' | 'other'; message: string; line: string } | undefined;

  constructor(forward: (chunk: Buffer | string) => void) {
    this.#forward = forward;
  }

  /** The runtime's reason for not starting the command, if it gave one. */
  get failure():
    | { kind: 'not-found' | 'not-executable' | 'other'; message: string; line: string }
    | undefined {
    return this.#failure;
  }

  push(chunk: Buffer): void {
    if (this.#open) {
      this.#forward(chunk);
      return;
    }
    this.#held += chunk.toString();
    for (;;) {
      const nl = this.#held.indexOf('\n');
      if (nl === -1) break;
      const line = this.#held.slice(0, nl);
      const failure = parseExecStartFailure(line);
      if (!failure) {
        this.open();
        return;
      }
      this.#failure ??= { ...failure, line };
      this.#held = this.#held.slice(nl + 1);
    }
    const held = this.#held;
    if (held !== '' && !RUNTIME_LINE_STARTS.some((s) => s.startsWith(held) || held.startsWith(s)))
      this.open();
  }

  /** The command runs: pass on what was held and everything from now on. */
  open(): void {
    if (this.#open) return;
    this.#open = true;
    if (this.#held !== '') this.#forward(this.#held);
    this.#held = '';
  }

  /** The runtime exited: text still held that was not a start failure goes out after all. */
  end(): void {
    if (this.#held !== '' && !parseExecStartFailure(this.#held)) this.#forward(this.#held);
    else if (this.#held !== '') this.#failure ??= { ...parseExecStartFailure(this.#held)!, line: this.#held };
    this.#held = '';
  }
}
