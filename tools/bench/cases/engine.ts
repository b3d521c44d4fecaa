/**
 * `engine`: function invocations through the engine (caller -> engine -> worker -> engine -> caller,
 * both ends on `@iii/sdk`), against a raw `ws` JSON echo between the same caller and worker processes
 * in the same run: one caller calling sequentially, and 1,000 invocations kept in flight.
 *
 * The engine runs in the bench process; the caller and the worker are child processes started from this
 * same file (`III_BENCH_ROLE=caller|worker`), so all three parties have their own event loop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startEngine } from '@iii/engine';
import { registerWorker } from '@iii/sdk';
import WebSocket, { WebSocketServer } from 'ws';
import type { BenchCase, BenchContext, Measurement } from '../types.ts';

const SEQUENTIAL_CALLS = 3000;
const CONCURRENT_CALLS = 30_000;
const IN_FLIGHT = 1000;
const ECHO_PEER = 'raw ws echo';

type Call = (data: unknown) => Promise<unknown>;

export interface RunSample {
  opsPerSec: number;
  p50: number;
  p99: number;
}

interface CallerReport {
  engine: { sequential: RunSample[]; concurrent: RunSample[] };
  echo: { sequential: RunSample[]; concurrent: RunSample[] };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Runs `total` calls keeping `window` of them in flight; per-call latency and overall throughput. */
export async function measure(call: Call, total: number, window: number): Promise<RunSample> {
  const latencies = new Array<number>(total);
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      await call({ n: i, text: 'hello' });
      latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { opsPerSec: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** A JSON request/response client over one raw socket: the floor any router adds to. */
async function rawEchoClient(url: string): Promise<{ call: Call; close(): void }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const pending = new Map<number, (v: unknown) => void>();
  let id = 0;
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { id: number; result: unknown };
    pending.get(msg.id)?.(msg.result);
    pending.delete(msg.id);
  });
  return {
    call: (data) =>
      new Promise((resolve) => {
        const n = id++;
        pending.set(n, resolve);
        ws.send(JSON.stringify({ id: n, data }));
      }),
    close: () => ws.close(),
  };
}

async function callerRole(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? '5');
  const client = registerWorker(process.env.BENCH_ENGINE_URL, {
    workerName: 'bench-caller',
    announce: false,
  });
  const viaEngine: Call = (data) => client.trigger({ function_id: 'bench::echo', payload: data });
  // The worker registers in the background: wait until the engine routes its function.
  for (;;) {
    const ok = await viaEngine({}).then(
      () => true,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const echo = await rawEchoClient(process.env.BENCH_ECHO_URL!);
  // Warm up both paths at full load first: the first round mostly measures the JIT otherwise.
  for (const call of [viaEngine, echo.call]) {
    await measure(call, SEQUENTIAL_CALLS, 1);
    await measure(call, CONCURRENT_CALLS, IN_FLIGHT);
  }
  const report: CallerReport = {
    engine: { sequential: [], concurrent: [] },
    echo: { sequential: [], concurrent: [] },
  };
  // Interleaved, so drift on a busy machine hits both sides alike.
  for (let r = 0; r < runs; r++) {
    report.echo.sequential.push(await measure(echo.call, SEQUENTIAL_CALLS, 1));
    report.engine.sequential.push(await measure(viaEngine, SEQUENTIAL_CALLS, 1));
    report.echo.concurrent.push(await measure(echo.call, CONCURRENT_CALLS, IN_FLIGHT));
    report.engine.concurrent.push(await measure(viaEngine, CONCURRENT_CALLS, IN_FLIGHT));
  }
  echo.close();
  await client.shutdown();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

async function workerRole(): Promise<void> {
  const echo = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((resolve) => echo.once('listening', resolve));
  echo.on('connection', (ws) => {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { id: number; data: unknown };
      ws.send(JSON.stringify({ id: msg.id, result: msg.data }));
    });
  });
  const worker = registerWorker(process.env.BENCH_ENGINE_URL, { workerName: 'bench-worker' });
  worker.registerFunction('bench::echo', (data: unknown) => data);
  process.stdout.write(`${JSON.stringify({ echoPort: (echo.address() as AddressInfo).port })}\n`);
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => reject(new Error(`bench ${child.spawnargs.at(-1)} exited ${code}: ${err}`)));
  });
}

function spawnRole(role: 'caller' | 'worker', env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, ...env, III_BENCH_ROLE: role },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const pick = (samples: RunSample[], key: keyof RunSample) => samples.map((s) => s[key]);

function measurements(report: CallerReport): Measurement[] {
  const out: Measurement[] = [];
  for (const [mode, label] of [
    ['sequential', 'one caller, sequential'],
    ['concurrent', `${IN_FLIGHT.toLocaleString('en-US')} in flight`],
  ] as const) {
    out.push({
      name: `invocations/s, ${label}`,
      unit: 'ops/s',
      higherIsBetter: true,
      ours: pick(report.engine[mode], 'opsPerSec'),
      peers: { [ECHO_PEER]: pick(report.echo[mode], 'opsPerSec') },
      target: { peer: ECHO_PEER, min: 0.5 },
    });
    for (const p of ['p50', 'p99'] as const) {
      out.push({
        name: `latency ${p}, ${label}`,
        unit: 'ms',
        ours: pick(report.engine[mode], p),
        peers: { [ECHO_PEER]: pick(report.echo[mode], p) },
      });
    }
  }
  return out;
}

export const benchCase: BenchCase = {
  name: 'engine',
  description: `invocations through the engine vs a raw ws echo between the same two processes (sequential and ${IN_FLIGHT} in flight)`,
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const engine = await startEngine({ port: 0 });
    const children: ChildProcess[] = [];
    const onAbort = () => {
      for (const c of children) c.kill('SIGKILL');
    };
    ctx.signal.addEventListener('abort', onAbort);
    try {
      const worker = spawnRole('worker', { BENCH_ENGINE_URL: engine.address });
      children.push(worker);
      const { echoPort } = JSON.parse(await firstLine(worker)) as { echoPort: number };
      ctx.log(
        `caller: ${ctx.runs} runs of ${SEQUENTIAL_CALLS} sequential and ${CONCURRENT_CALLS} calls with ${IN_FLIGHT} in flight`,
      );
      const caller = spawnRole('caller', {
        BENCH_ENGINE_URL: engine.address,
        BENCH_ECHO_URL: `ws://127.0.0.1:${echoPort}`,
        BENCH_RUNS: String(ctx.runs),
      });
      children.push(caller);
      const report = JSON.parse(await firstLine(caller)) as CallerReport;
      return measurements(report);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await engine.close();
    }
  },
};

const role = process.env.III_BENCH_ROLE;
if (role === 'caller') await callerRole();
else if (role === 'worker') await workerRole();
