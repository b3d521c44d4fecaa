// Runs the built `iii` on a pseudo-terminal, for behaviour that differs on a terminal (prompts,
// progress bars, exec's tty): util-linux's `script` gives the command a pty as stdin, stdout and stderr.
import { spawn } from 'node:child_process';
import { requireTools } from '@iii/tools/test-env';
import { bin } from './worker-harness.js';

export interface TerminalRun {
  code: number;
  /** Everything the terminal showed (stdout and stderr together, with `\r\n` line ends). */
  output: string;
}

export interface TerminalOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Typed into the terminal once the command starts (e.g. `\n` to press Enter). */
  input?: string;
  /** The width the terminal reports; `0` is what some terminals and `script` without one report. */
  columns?: number;
  /** Kill it after this long; a generous bound that only a hang reaches. */
  timeoutMs?: number;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Runs `iii <args>` on a pseudo-terminal and resolves with its exit code and what it showed. */
export function iiiOnTerminal(args: string[], opts: TerminalOptions): Promise<TerminalRun> {
  requireTools(['script']);
  const columns = opts.columns ?? 100;
  const command = [process.execPath, bin, ...args].map(shellQuote).join(' ');
  const inner = `stty cols ${columns} rows 40 2>/dev/null; exec ${command}`;
  return new Promise((resolve, reject) => {
    // -e: exit with the command's code; -f: flush output as it comes; -q: no start/done banners.
    const child = spawn('script', ['-qfec', inner, '/dev/null'], {
      cwd: opts.cwd,
      env: { ...opts.env, TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.stdin.on('error', () => {});
    // Typed after a moment, as a person would; the terminal buffers it until the command reads.
    const typing =
      opts.input === undefined ? undefined : setTimeout(() => child.stdin.write(opts.input!), 1000);
    child.once('error', (err) => {
      clearTimeout(timer);
      clearTimeout(typing);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(typing);
      resolve({ code: code ?? (signal ? 128 : 1), output: output.replaceAll('\r\n', '\n') });
    });
  });
}
