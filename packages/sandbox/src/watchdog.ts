import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxError } from './errors.js';
import { isRunningProcess, readArgv } from './process-table.js';
import type { RuntimeDriver } from './runtime/driver.js';
import { readWatchdogRecord, removeWatchdogRecord, writeWatchdogRecord } from './watchdog-record.js';

/**
 * The watchdog waits on a pipe only its owner holds open; the kernel closes it however the owner
 * ends (exit, crash, OOM kill, SIGKILL). `disarm` is the owner's word that it stopped everything
 * itself. At end of file the shell becomes the reaper (a Node process, started only then), which
 * removes every container, runtime process and overlay of the state directory.
 */
const WAIT_SCRIPT = 'while IFS= read -r line; do [ "$line" = disarm ] && exit 0; done; exec "$@"';

/** How long a previous owner may take to finish dying before it counts as alive. */
const OWNER_EXIT_GRACE_MS = 3000;

/** How many times a watchdog that died while its owner runs is replaced. */
const MAX_RESPAWNS = 5;

export interface WatchdogOptions {
  stateDir: string;
  driver: RuntimeDriver;
  /** Told when a watchdog died while its owner runs and was replaced. */
  report?: (message: string) => void;
}

/**
 * The reaper's entry: built in this package's dist, or the TypeScript source when run from it. The
 * build is found through the package's name, not beside this module, because the `iii` executable
 * bundles this module into files of its own.
 */
function reaperCommand(): { argv: string[]; cwd: string } {
  if (!import.meta.url.endsWith('.ts')) {
    const packageJson = createRequire(import.meta.url).resolve('@iii/sandbox/package.json');
    const built = join(dirname(packageJson), 'dist/reaper-main.js');
    if (existsSync(built)) return { argv: [process.execPath, built], cwd: '/' };
  }
  const source = fileURLToPath(new URL('./reaper-main.ts', import.meta.url));
  return { argv: [process.execPath, '--import', 'tsx', source], cwd: dirname(source) };
}

/**
 * A process that outlives the sandbox's owner for a moment: when the owner dies without disarming
 * it, it stops the owner's workers. It is its own session, so a Ctrl-C or a hang-up of the
 * terminal reaches only `iii`, which then stops the workers gracefully and disarms it.
 */
export class Watchdog {
  private readonly options: WatchdogOptions;
  private child: ChildProcess;
  private exited: Promise<void>;
  private disarmed = false;
  private respawns = 0;

  private constructor(options: WatchdogOptions, child: ChildProcess, exited: Promise<void>) {
    this.options = options;
    this.child = child;
    this.exited = exited;
  }

  /** Starts the watchdog of `stateDir` and records it in `<stateDir>/watchdog.json`. */
  static async arm(options: WatchdogOptions): Promise<Watchdog> {
    const { child, exited } = await Watchdog.spawn(options);
    const dog = new Watchdog(options, child, exited);
    dog.watch();
    return dog;
  }

  get pid(): number {
    return this.child.pid!;
  }

  private static async spawn(
    options: WatchdogOptions,
  ): Promise<{ child: ChildProcess; exited: Promise<void> }> {
    const stateDir = resolve(options.stateDir);
    const { driver } = options;
    const { argv, cwd } = reaperCommand();
    const args = [
      ...argv,
      '--state-dir',
      stateDir,
      '--runtime',
      driver.name,
      '--binary',
      driver.binary,
      '--root',
      driver.root,
      '--owner',
      String(process.pid),
      ...(driver.canKeep ? ['--keep'] : []),
    ];
    const log = await open(join(stateDir, 'watchdog.log'), 'w', 0o600);
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', WAIT_SCRIPT, 'iii-watchdog', ...args], {
        cwd,
        detached: true,
        stdio: ['pipe', log.fd, log.fd],
      });
      const exited = once(child, 'exit').then(() => {});
      exited.catch(() => {});
      await Promise.race([
        once(child, 'spawn'),
        once(child, 'error').then(([err]) => {
          throw err;
        }),
      ]);
      // The pipe and the process must not keep the owner's event loop alive.
      child.unref();
      (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      child.stdin?.on('error', () => {});
      await writeWatchdogRecord(stateDir, {
        pid: child.pid!,
        ownerPid: process.pid,
        runtime: driver.name,
        binary: driver.binary,
        root: driver.root,
        canKeep: driver.canKeep,
      });
      return { child, exited };
    } catch (err) {
      throw new SandboxError(
        'WATCHDOG_FAILED',
        `Could not start the sandbox watchdog: ${(err as Error).message}`,
        'Check that /bin/sh exists and that the iii state directory is writable',
        { cause: err },
      );
    } finally {
      await log.close();
    }
  }

  /** Replaces a watchdog that died while its owner runs (someone killed it). */
  private watch(): void {
    const child = this.child;
    this.exited.then(async () => {
      if (this.disarmed || child !== this.child) return;
      if (this.respawns >= MAX_RESPAWNS) {
        this.options.report?.(
          `sandbox watchdog (pid ${child.pid}) exited; workers will outlive iii if it is killed`,
        );
        return;
      }
      this.respawns++;
      try {
        const next = await Watchdog.spawn(this.options);
        if (this.disarmed) {
          next.child.stdin?.end('disarm\n');
          return;
        }
        this.child = next.child;
        this.exited = next.exited;
        this.options.report?.(
          `sandbox watchdog (pid ${child.pid}) exited; started a new one (pid ${next.child.pid})`,
        );
        this.watch();
      } catch (err) {
        this.options.report?.((err as Error).message);
      }
    });
  }

  /** The owner stopped its workers itself: the watchdog exits without touching anything. */
  async disarm(): Promise<void> {
    if (this.disarmed) return;
    this.disarmed = true;
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin?.end('disarm\n');
      const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), 5000).unref());
      if ((await Promise.race([this.exited.then(() => 'done' as const), timer])) === 'late') {
        child.kill('SIGKILL');
      }
    }
    await removeWatchdogRecord(this.options.stateDir, child.pid!);
  }
}

/**
 * Waits (up to `timeoutMs`) for the watchdog of a previous owner of `stateDir` that died: it is
 * removing that owner's containers, and would remove ours too if we started them meanwhile.
 * Returns whether there was one to wait for.
 */
export async function waitForOrphanedWatchdog(stateDir: string, timeoutMs = 30_000): Promise<boolean> {
  const dir = resolve(stateDir);
  const record = await readWatchdogRecord(dir);
  if (!record || record.ownerPid === process.pid) return false;
  const isOurs = async () =>
    (await isRunningProcess(record.pid)) && ((await readArgv(record.pid)) ?? []).includes(dir);
  const start = Date.now();
  let waited = false;
  while (Date.now() - start < timeoutMs && (await isOurs())) {
    // An owner killed a moment ago may not be gone yet; one that stays is alive, with its own workers.
    if ((await isRunningProcess(record.ownerPid)) && Date.now() - start > OWNER_EXIT_GRACE_MS) return waited;
    waited = true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return waited;
}
