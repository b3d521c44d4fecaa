import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { RuntimeCommandError } from '../errors.js';
import type { OciProcess } from '../runtime-spec.js';
import type {
  ContainerState,
  CreateOptions,
  ExecOptions,
  ExecProcess,
  RunningContainer,
  RunOptions,
  RuntimeDriver,
} from './driver.js';
import { exitCodeOf } from './exit-status.js';

const stateSchema = z.object({
  id: z.string(),
  pid: z.number().int().nonnegative().default(0),
  status: z.enum(['creating', 'created', 'running', 'paused', 'stopped']),
  bundle: z.string().default(''),
});

/** Messages both runtimes print when a container is absent or already stopped. */
const ABSENT = /does not exist|not exist|no such file|not found/i;
const NOT_RUNNING = /not running|container .* is stopped|process already finished|no such process/i;

export interface OciCliRuntimeOptions {
  name: string;
  binary: string;
  root: string;
  /** runc has `run --keep`; crun 1.x does not. */
  canKeep: boolean;
}

/**
 * A driver for runtimes with runc's command line (runc, crun). Runtime processes are started in
 * their own process group so a Ctrl-C in the terminal reaches only the supervisor, which then
 * stops containers in order instead of the runtime forwarding SIGINT to every worker at once.
 */
export class OciCliRuntime implements RuntimeDriver {
  readonly name: string;
  readonly binary: string;
  readonly root: string;
  readonly canKeep: boolean;

  constructor(options: OciCliRuntimeOptions) {
    this.name = options.name;
    this.binary = options.binary;
    this.root = options.root;
    this.canKeep = options.canKeep;
  }

  private async cmd(args: string[]): Promise<string> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const full = ['--root', this.root, ...args];
    // Loaded on first use: execa and its dependencies are ~130 modules, and most processes that load
    // this package (every `iii` command reading sandbox state) never run a runtime command.
    const { execa } = await import('execa');
    const r = await execa(this.binary, full, { reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0 || r.failed) {
      throw new RuntimeCommandError(
        this.name,
        args,
        r.exitCode,
        `${r.stderr}\n${r.stdout}`.trim() || String(r.message),
      );
    }
    return r.stdout;
  }

  run(id: string, bundle: string, options: RunOptions): RunningContainer {
    const args = ['--root', this.root, 'run', '--bundle', bundle, '--pid-file', options.pidFile];
    if (options.keep && this.canKeep) args.push('--keep');
    args.push(id);
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const exited = new Promise<{ exitCode: number }>((resolve) => {
      child.once('error', (err) => {
        child.stderr?.emit('data', Buffer.from(`${this.name}: ${err.message}\n`));
        resolve({ exitCode: 127 });
      });
      child.once('close', (code, signal) => resolve({ exitCode: exitCodeOf(code, signal) }));
    });
    return { child, stdout: child.stdout!, stderr: child.stderr!, exited };
  }

  async create(id: string, bundle: string, options: CreateOptions): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const args = ['--root', this.root, 'create', '--bundle', bundle, '--pid-file', options.pidFile, id];
    const child = spawn(this.binary, args, {
      stdio: options.stdio ?? ['ignore', 'ignore', 'ignore'],
      detached: true,
    });
    const code = await new Promise<number>((resolve) => {
      child.once('error', () => resolve(127));
      child.once('exit', (c, s) => resolve(exitCodeOf(c, s)));
    });
    if (code !== 0)
      throw new RuntimeCommandError(this.name, ['create', id], code, 'see the container output');
  }

  async start(id: string): Promise<void> {
    await this.cmd(['start', id]);
  }

  async state(id: string): Promise<ContainerState | undefined> {
    try {
      return stateSchema.parse(JSON.parse(await this.cmd(['state', id])));
    } catch (err) {
      if (err instanceof RuntimeCommandError && ABSENT.test(err.stderr)) return undefined;
      throw err;
    }
  }

  async kill(id: string, signal: NodeJS.Signals | number, options?: { all?: boolean }): Promise<boolean> {
    const sig = typeof signal === 'number' ? String(signal) : signal.replace(/^SIG/, '');
    try {
      await this.cmd(['kill', ...(options?.all ? ['--all'] : []), id, sig]);
      return true;
    } catch (err) {
      if (err instanceof RuntimeCommandError && (NOT_RUNNING.test(err.stderr) || ABSENT.test(err.stderr))) {
        return false;
      }
      throw err;
    }
  }

  async delete(id: string, options?: { force?: boolean }): Promise<void> {
    try {
      await this.cmd(['delete', ...(options?.force ? ['--force'] : []), id]);
    } catch (err) {
      if (err instanceof RuntimeCommandError && ABSENT.test(err.stderr)) return;
      throw err;
    }
  }

  async update(id: string, resources: Record<string, unknown>): Promise<void> {
    const file = join(this.root, `${id}.resources.json`);
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await writeFile(file, JSON.stringify(resources), { mode: 0o600 });
    try {
      await this.cmd(['update', '--resources', file, id]);
    } finally {
      await rm(file, { force: true });
    }
  }

  async exec(id: string, process: OciProcess, options: ExecOptions): Promise<ExecProcess> {
    const processFile = `${options.pidFile}.process.json`;
    await writeFile(processFile, JSON.stringify(process), { mode: 0o600 });
    const args = ['--root', this.root, 'exec', '--process', processFile, '--pid-file', options.pidFile, id];
    const child = spawn(this.binary, args, {
      stdio: [options.stdin ?? 'pipe', options.stdout ?? 'pipe', options.stderr ?? 'pipe'],
      detached: true,
    });
    const exited = new Promise<{ exitCode: number }>((resolve) => {
      child.once('error', () => resolve({ exitCode: 127 }));
      child.once('close', (code, signal) => resolve({ exitCode: exitCodeOf(code, signal) }));
    }).finally(() => rm(processFile, { force: true }));
    return { child, stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited };
  }

  async list(): Promise<ContainerState[]> {
    let ids: string[];
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      ids = entries.filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return Promise.all(
      ids.map(
        async (id) =>
          (await this.state(id).catch(() => undefined)) ?? {
            id,
            pid: 0,
            status: 'stopped' as const,
            bundle: '',
          },
      ),
    );
  }
}
