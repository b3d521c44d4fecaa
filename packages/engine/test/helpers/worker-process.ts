import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerClient } from '@iii/sdk';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

export type WorkerKind = 'official' | 'ours';

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves when the worker prints `line` on stdout. */
  waitForLine(line: string): Promise<void>;
  /** Kills the process and resolves once it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs a fixture worker as its own `node` process (so a test can kill it like a crash would): the
 * official `iii-sdk` one, or ours through tsx so `@iii/sdk` comes from source.
 */
export function spawnWorker(
  kind: WorkerKind,
  opts: { address: string; name: string; prefix: string; env?: Record<string, string> },
): WorkerProcess {
  const args =
    kind === 'official'
      ? [`${fixtures}official-worker.mjs`]
      : ['--import', 'tsx', `${fixtures}our-worker.ts`];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      III_URL: opts.address,
      III_WORKER_NAME: opts.name,
      FN_PREFIX: opts.prefix,
      OTEL_ENABLED: 'false',
      TSX_TSCONFIG_PATH: `${fixtures}tsconfig.json`,
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of [...waiters]) {
      if (out.split('\n').includes(w.line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  // The official SDK is chatty on stderr; keep it out of the test output but drain it.
  child.stderr?.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    waitForLine: (line) =>
      out.split('\n').includes(line)
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ line, resolve })),
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Polls `engine::functions::list` until every id is routable (workers register in the background). */
export async function waitForFunctions(
  client: WorkerClient,
  ids: string[],
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { functions } = await client.trigger<unknown, { functions: Array<{ function_id: string }> }>({
      function_id: 'engine::functions::list',
      payload: {},
    });
    const have = new Set(functions.map((f) => f.function_id));
    if (ids.every((id) => have.has(id))) return;
    if (Date.now() > deadline)
      throw new Error(`functions ${ids.join(', ')} did not appear; have ${[...have]}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls until `check` returns true. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
