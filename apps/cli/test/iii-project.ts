// What the tests of `iii` running over time share: a project directory with its own $III_HOME (and
// none of the caller's III_ variables), the built `iii` run in it, and `iii start` kept running as a
// child process whose output the tests read.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@iii/tools/test-env';
import { expect } from 'vitest';
import { until } from './until.ts';

export const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

/** How a run of `iii` ended. */
export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export class IiiProject {
  /** Everything the running (or last) `iii start` printed, stdout and stderr. */
  engineOutput = '';
  private engine: ChildProcess | undefined;
  private engineExit: Promise<number | null> = Promise.resolve(null);

  private constructor(
    /** The project directory: config.yaml and iii.lock are here. */
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  /** A new project in a temporary directory named after `prefix`; `$III_HOME` is its `home`. */
  static async create(prefix: string): Promise<IiiProject> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('III_')));
    return new IiiProject(dir, {
      ...base,
      III_HOME: join(dir, 'home'),
      III_CONFIG_PATH: join(dir, 'config.yaml'),
      CI: 'true',
    });
  }

  get home(): string {
    return this.env.III_HOME as string;
  }

  /** Runs the built `iii` in the project directory, with stdin closed. */
  readonly iii = (...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [bin, ...args],
        { env: this.env, cwd: this.dir },
        (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });

  /** The rows of `iii worker list --json`, which must succeed. */
  readonly list = async <Row>(): Promise<Row[]> => {
    const r = await this.iii('worker', 'list', '--json');
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { workers: Row[] }).workers;
  };

  /**
   * Starts `iii start` on a free port (with `flags`, e.g. `--no-watch`) and waits until `ready`
   * (given its output so far) holds.
   */
  async start(
    what: string,
    ready: (output: string) => boolean | Promise<boolean>,
    flags: readonly string[] = [],
  ): Promise<void> {
    const port = await freePort();
    this.engineOutput = '';
    const child = spawn(process.execPath, [bin, 'start', '--port', String(port), ...flags], {
      env: this.env,
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (this.engineOutput += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.engineOutput += d.toString()));
    this.engineExit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.engine = child;
    await until(what, async () => ready(this.engineOutput));
  }

  /** Stops the running `iii start` with SIGTERM and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.engine && this.engine.exitCode === null) {
      this.engine.kill('SIGTERM');
      await this.engineExit;
    }
    this.engine = undefined;
  }

  /** Stops `iii` and deletes the project directory. */
  async remove(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
