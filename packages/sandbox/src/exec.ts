import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { SandboxError } from './errors.js';
import { ExecStartError, ExecStderrGate } from './exec-start-failure.js';
import type { RuntimeDriver, StdioOption } from './runtime/driver.js';
import type { OciProcess, OciUser } from './runtime-spec.js';

/** The exit code of a command that ran past its timeout, as `timeout(1)` reports it. */
export const EXEC_TIMEOUT_EXIT_CODE = 124;

/** A command to run in a worker's sandbox: its argv, environment, directory, user, stdio and timeout. */
export interface ExecRequest {
  args: string[];
  /** Added to (and overriding) the worker's environment. */
  env?: Readonly<Record<string, string>>;
  /** Default: the worker's working directory. */
  cwd?: string;
  /** Default: the worker's user. */
  user?: OciUser;
  /**
   * Allocate a terminal. The runtime then creates the pty itself and relays it through its own
   * stdio, so use it with `stdin/stdout: 'inherit'` from a terminal.
   */
  tty?: boolean;
  /** Kill the command after this long; the exit code is then 124. */
  timeoutMs?: number;
  /** Where the command's stdio goes. Streams are piped; undefined stdout/stderr are captured into the result. */
  stdin?: StdioOption | Readable;
  stdout?: StdioOption | Writable;
  stderr?: StdioOption | Writable;
  signal?: AbortSignal;
}

/** How an exec'd command ended: exit code, whether it timed out or could not start, and captured output. */
export interface ExecResult {
  exitCode: number;
  timedOut: boolean;
  /** Set when the command could not be started at all (not found, not executable); `exitCode` is then 127/126. */
  startError?: ExecStartError;
  /** Captured output when the request gave no stdout/stderr. */
  stdout?: string;
  stderr?: string;
}

/** A started exec: its result to await, and a way to signal it. */
export interface ExecHandle {
  /** Sends a signal to the command inside the sandbox. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  readonly result: Promise<ExecResult>;
}

/** The worker an exec runs in: its runtime driver, container id, process defaults and run directory. */
export interface ExecContext {
  driver: RuntimeDriver;
  id: string;
  /** The worker's process from its config.json: env, cwd and user to inherit. */
  base: OciProcess;
  /** Directory for the pid and process files. */
  runDir: string;
  clock?: Clock;
}

/** The process.json for an exec: the worker's identity and environment, with the request's overrides. */
export function execProcess(base: OciProcess, req: ExecRequest): OciProcess {
  const env = new Map(
    base.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] as const),
  );
  for (const [k, v] of Object.entries(req.env ?? {})) {
    env.delete(k);
    env.set(k, v);
  }
  // With a terminal, programs that draw on it (vi, top, less, clear) need to know its kind; like
  // `docker exec -t`, say xterm unless the worker or the request names one.
  if (req.tty && !env.has('TERM')) env.set('TERM', 'xterm');
  return {
    ...base,
    terminal: req.tty ?? false,
    args: req.args,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    cwd: req.cwd ?? base.cwd,
    user: req.user ?? base.user,
    // Like the worker itself: only root gets the capability set in effect.
    ...(req.user ? { capabilities: capabilitiesFor(req.user.uid, base.capabilities) } : {}),
  };
}

function capabilitiesFor(uid: number, caps: OciProcess['capabilities']): OciProcess['capabilities'] {
  const active = uid === 0 ? [...caps.bounding] : [];
  return { ...caps, effective: active, permitted: active };
}

/**
 * The runtime exits 255 when it cannot start the command at all; report that the way a shell
 * does, 127 for a command not found and 126 for one that cannot be executed.
 */
function startFailureCode(exitCode: number, stderrTail: string): number {
  if (exitCode !== 255 || !/exec failed|unable to start container process/.test(stderrTail)) return exitCode;
  if (/no such file or directory|executable file not found/i.test(stderrTail)) return 127;
  if (/permission denied/i.test(stderrTail)) return 126;
  return exitCode;
}

function stdio(o: StdioOption | Readable | Writable | undefined): StdioOption {
  return o === undefined || typeof o === 'object' ? 'pipe' : o;
}

/** Starts a command inside a running worker's sandbox (same namespaces, rootfs, environment). */
export async function startExec(ctx: ExecContext, req: ExecRequest): Promise<ExecHandle> {
  const clock = ctx.clock ?? systemClock;
  if (req.tty && !(req.stdin === 'inherit' && process.stdin.isTTY)) {
    // The runtime relays the pty through its own controlling terminal; without one it cannot.
    throw new SandboxError(
      'EXEC_TTY_UNAVAILABLE',
      'A terminal was requested for exec, but stdin is not a terminal',
      'Run from a terminal, or without --tty to use pipes',
    );
  }
  await mkdir(ctx.runDir, { recursive: true });
  const pidFile = join(ctx.runDir, `exec-${randomBytes(6).toString('hex')}.pid`);
  const proc = await ctx.driver.exec(ctx.id, execProcess(ctx.base, req), {
    pidFile,
    stdin: stdio(req.stdin),
    stdout: stdio(req.stdout),
    // stderr is relayed by us so the runtime's own "exec failed" can be told from the command's output.
    // With a terminal the command's output goes through the pty on stdout; stderr is the runtime's only.
    stderr: req.stderr === 'inherit' ? 'pipe' : stdio(req.stderr),
  });

  let out = '';
  let err = '';
  if (typeof req.stdin === 'object') req.stdin.pipe(proc.stdin!);
  else proc.stdin?.end();
  if (typeof req.stdout === 'object') proc.stdout?.pipe(req.stdout, { end: false });
  else proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  let errTail = '';
  const errSink =
    req.stderr === 'inherit' ? process.stderr : typeof req.stderr === 'object' ? req.stderr : undefined;
  const gate = new ExecStderrGate((d) => {
    if (errSink) errSink.write(d);
    else err += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    errTail = (errTail + d.toString()).slice(-2048);
    gate.push(d);
  });
  // Output on stdout means the command runs: nothing on stderr is the runtime's start failure any more.
  proc.stdout?.once('data', () => gate.open());

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    // The pid file holds the host pid of the command; the runtime process only relays.
    const pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
    if (pid > 0) {
      try {
        process.kill(pid, signal);
      } catch {}
    } else {
      proc.child.kill(signal);
    }
  };

  let timedOut = false;
  const timer =
    req.timeoutMs !== undefined
      ? clock.setTimeout(() => {
          timedOut = true;
          void kill('SIGKILL');
        }, req.timeoutMs)
      : undefined;
  const onAbort = () => void kill('SIGKILL');
  req.signal?.addEventListener('abort', onAbort, { once: true });

  const result = proc.exited.then(async ({ exitCode }) => {
    if (timer !== undefined) clock.clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
    await rm(pidFile, { force: true });
    gate.end();
    const failure = gate.failure;
    const startError =
      !timedOut && exitCode !== 0 && failure
        ? new ExecStartError(req.args[0] ?? '', failure.kind, failure.message)
        : undefined;
    return {
      exitCode: timedOut
        ? EXEC_TIMEOUT_EXIT_CODE
        : startError
          ? startError.exitStatus
          : startFailureCode(exitCode, errTail),
      timedOut,
      ...(startError ? { startError } : {}),
      ...(req.stdout === undefined ? { stdout: out } : {}),
      ...(req.stderr === undefined ? { stderr: err } : {}),
    };
  });
  return { kill, result };
}

/** Runs a command inside a running worker's sandbox and resolves with its exit code. */
export async function exec(ctx: ExecContext, req: ExecRequest): Promise<ExecResult> {
  return (await startExec(ctx, req)).result;
}
