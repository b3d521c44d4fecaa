/**
 * `engine-logs`: function invocations through the engine while a worker prints as fast as it can,
 * against the same invocations while it is quiet, in the same run (interleaved).
 *
 * The engine runs in the bench process together with a `LogWriter` that captures a printing child
 * process's stdout exactly as the sandbox's supervisor does for a worker (pipe `data` events into
 * `write`, pausing the pipe while the writer asks for it): the log writer shares the event loop that
 * routes invocations, which is what this case measures. The caller, the echo worker and the printer are
 * child processes started from this same file (`III_BENCH_ROLE=logs-*`). The caller asks the bench
 * process over IPC to turn the printer on or off before each measured round.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startEngine } from '@iii/engine';
import { LogWriter } from '@iii/sandbox';
import { registerWorker } from '@iii/sdk';
import type { BenchCase, BenchContext, Measurement } from '../types.ts';
import { measure, type RunSample } from './engine.ts';

const SEQUENTIAL_CALLS = 2000;
const CONCURRENT_CALLS = 20_000;
const IN_FLIGHT = 1000;
const QUIET = 'worker quiet';

type Phase = 'loud' | 'quiet';

interface PhaseReport {
  sequential: RunSample[];
  concurrent: RunSample[];
}

/** What the bench process saw while the caller measured one round. */
interface EngineSample {
  /** Event-loop delay of the engine's process, p99, ms. */
  loopP99: number;
  /** Worker output captured into the log, MB/s. */
  logMBps: number;
}

type ToCaller = { ok: true };
type FromCaller = { phase: Phase } | { done: true; report: Record<Phase, PhaseReport> };

function ask(message: FromCaller): Promise<void> {
  return new Promise((resolve) => {
    process.once('message', () => resolve());
    process.send!(message);
  });
}

async function callerRole(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? '5');
  const client = registerWorker(process.env.BENCH_ENGINE_URL, {
    workerName: 'bench-caller',
    announce: false,
  });
  const call = (data: unknown) => client.trigger({ function_id: 'bench::echo', payload: data });
  for (;;) {
    const ok = await call({}).then(
      () => true,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await measure(call, SEQUENTIAL_CALLS, 1);
  await measure(call, CONCURRENT_CALLS, IN_FLIGHT);
  const report: Record<Phase, PhaseReport> = {
    loud: { sequential: [], concurrent: [] },
    quiet: { sequential: [], concurrent: [] },
  };
  for (let r = 0; r < runs; r++) {
    for (const phase of ['quiet', 'loud'] as const) {
      await ask({ phase });
      report[phase].sequential.push(await measure(call, SEQUENTIAL_CALLS, 1));
      report[phase].concurrent.push(await measure(call, CONCURRENT_CALLS, IN_FLIGHT));
    }
  }
  await ask({ phase: 'quiet' });
  await client.shutdown();
  process.send!({ done: true, report } satisfies FromCaller);
  process.disconnect();
}

async function workerRole(): Promise<void> {
  const worker = registerWorker(process.env.BENCH_ENGINE_URL, { workerName: 'bench-worker' });
  worker.registerFunction('bench::echo', (data: unknown) => data);
}

/** Prints 120-character lines in 60 KB writes, without end; the bench process stops and continues it. */
function printerRole(): void {
  const chunk = `${'worker says something worth logging, '.repeat(3).padEnd(120, '.')}\n`.repeat(512);
  const pump = () => {
    // Like a worker blocked in write(2): no more output until the pipe's reader has taken this.
    if (process.stdout.write(chunk)) setImmediate(pump);
    else process.stdout.once('drain', pump);
  };
  pump();
}

function spawnRole(role: string, env: Record<string, string>, ipc = false): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, ...env, III_BENCH_ROLE: role },
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? (['ipc'] as const) : [])],
  });
}

const pick = (samples: RunSample[], key: keyof RunSample) => samples.map((s) => s[key]);

function measurements(
  report: Record<Phase, PhaseReport>,
  engine: Record<Phase, EngineSample[]>,
): Measurement[] {
  const out: Measurement[] = [];
  for (const [mode, label] of [
    ['sequential', 'one caller, sequential'],
    ['concurrent', `${IN_FLIGHT.toLocaleString('en-US')} in flight`],
  ] as const) {
    out.push({
      name: `invocations/s while a worker prints, ${label}`,
      unit: 'ops/s',
      higherIsBetter: true,
      ours: pick(report.loud[mode], 'opsPerSec'),
      peers: { [QUIET]: pick(report.quiet[mode], 'opsPerSec') },
    });
    for (const p of ['p50', 'p99'] as const) {
      out.push({
        name: `latency ${p} while a worker prints, ${label}`,
        unit: 'ms',
        ours: pick(report.loud[mode], p),
        peers: { [QUIET]: pick(report.quiet[mode], p) },
      });
    }
  }
  out.push({
    name: 'engine event-loop delay p99 while a worker prints',
    unit: 'ms',
    ours: engine.loud.map((s) => s.loopP99),
    peers: { [QUIET]: engine.quiet.map((s) => s.loopP99) },
  });
  out.push({
    name: 'worker output captured into its log',
    unit: 'MB/s',
    higherIsBetter: true,
    ours: engine.loud.map((s) => s.logMBps),
    peers: {},
  });
  return out;
}

export const benchCase: BenchCase = {
  name: 'engine-logs',
  description: `invocations through the engine while a worker prints heavily into its log, vs the same worker quiet (sequential and ${IN_FLIGHT} in flight)`,
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const engine = await startEngine({ port: 0 });
    const logs = new LogWriter(ctx.workDir);
    const children: ChildProcess[] = [];
    const onAbort = () => {
      for (const c of children) c.kill('SIGKILL');
    };
    ctx.signal.addEventListener('abort', onAbort);
    try {
      const printer = spawnRole('logs-printer', {});
      children.push(printer);
      let captured = 0;
      // The supervisor's wiring of a worker's stdout to its log.
      printer.stdout!.on('data', (d: Buffer) => {
        captured += d.length;
        if (logs.write('stdout', d) === false) {
          printer.stdout!.pause();
          logs.once('drain', () => printer.stdout!.resume());
        }
      });
      // Printing before it is measured, then stopped until the caller's first loud round.
      await new Promise((resolve) => printer.stdout!.once('data', resolve));
      printer.kill('SIGSTOP');
      children.push(spawnRole('logs-worker', { BENCH_ENGINE_URL: engine.address }));
      ctx.log(
        `caller: ${ctx.runs} runs of ${SEQUENTIAL_CALLS} sequential and ${CONCURRENT_CALLS} calls with ${IN_FLIGHT} in flight, worker quiet then printing`,
      );
      const caller = spawnRole(
        'logs-caller',
        { BENCH_ENGINE_URL: engine.address, BENCH_RUNS: String(ctx.runs) },
        true,
      );
      children.push(caller);
      let callerErr = '';
      caller.stderr!.on('data', (d: Buffer) => {
        callerErr += d.toString();
      });
      const engineSamples: Record<Phase, EngineSample[]> = { loud: [], quiet: [] };
      const delay = monitorEventLoopDelay({ resolution: 1 });
      let current: { phase: Phase; capturedAt: number; t0: number } | undefined;
      const endRound = () => {
        if (!current) return;
        delay.disable();
        const seconds = (performance.now() - current.t0) / 1000;
        engineSamples[current.phase].push({
          loopP99: delay.percentile(99) / 1e6,
          logMBps: (captured - current.capturedAt) / 1e6 / seconds,
        });
        current = undefined;
      };
      const report = await new Promise<Record<Phase, PhaseReport>>((resolve, reject) => {
        caller.on('message', (m: FromCaller) => {
          if ('done' in m) return resolve(m.report);
          endRound();
          printer.kill(m.phase === 'loud' ? 'SIGCONT' : 'SIGSTOP');
          delay.reset();
          delay.enable();
          current = { phase: m.phase, capturedAt: captured, t0: performance.now() };
          caller.send({ ok: true } satisfies ToCaller);
        });
        caller.once('exit', (code) => reject(new Error(`bench caller exited ${code}: ${callerErr}`)));
      });
      return measurements(report, engineSamples);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await engine.close();
      await logs.close();
    }
  },
};

const role = process.env.III_BENCH_ROLE;
if (role === 'logs-caller') await callerRole();
else if (role === 'logs-worker') await workerRole();
else if (role === 'logs-printer') printerRole();
