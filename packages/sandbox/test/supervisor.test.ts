import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, Sandbox, type Worker, type WorkerState } from '../src/index.js';
import { buildBusyboxRootfs } from './busybox-rootfs.js';

let scratch: string;
let image: string;
let sandbox: Sandbox;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'iii-supervisor-test-'));
  image = await buildBusyboxRootfs(scratch);
});

afterAll(async () => {
  await sandbox?.stopAll({ timeoutMs: 100 });
  await rm(scratch, { recursive: true, force: true });
});

/**
 * A clock whose time moves `stepMs` each time it is read (so every run "lasts" stepMs) and whose
 * timers fire at once, recording the delay asked for: backoff is checked without waiting for it.
 */
function steppingClock(stepMs: number): Clock & { delays: number[] } {
  let t = Date.UTC(2026, 0, 1);
  const delays: number[] = [];
  return {
    delays,
    now: () => (t += stepMs),
    setTimeout: (fn, ms) => {
      delays.push(ms);
      return setImmediate(fn);
    },
    clearTimeout: (h) => clearImmediate(h as NodeJS.Immediate),
  };
}

function until(worker: Worker, pred: (s: WorkerState) => boolean): Promise<WorkerState> {
  return new Promise((resolve) => {
    if (pred(worker.state())) return resolve(worker.state());
    const on = (s: WorkerState) => {
      if (pred(s)) {
        worker.off('state', on);
        resolve(s);
      }
    };
    worker.on('state', on);
  });
}

async function crashLoop(name: string, clock: Clock, restarts: number): Promise<WorkerState> {
  sandbox = await Sandbox.open({ stateDir: await mkdtemp(join(scratch, 'state-')), runtime: 'runc', clock });
  const w = await sandbox.start({
    name,
    imageRootfs: image,
    imageConfig: { config: { Cmd: ['sh', '-c', 'exit 1'] } },
    engineUrl: 'ws://127.0.0.1:1',
  });
  const s = await until(w, (x) => x.restarts >= restarts && x.status === 'restarting');
  await w.stop();
  return s;
}

describe('supervisor restart backoff (real runc, injected clock)', () => {
  it('restarts a failing worker with delays doubling from 1 s up to 60 s by default', async () => {
    const clock = steppingClock(1);
    const s = await crashLoop('doubling', clock, 8);
    expect(clock.delays.slice(0, 8)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect(s).toMatchObject({ exitCode: 1, oomKilled: false });
  });

  it('resets the delay after a run that lasted 60 s', async () => {
    const clock = steppingClock(61_000);
    await crashLoop('long-runs', clock, 3);
    expect(clock.delays.slice(0, 3)).toEqual([1000, 1000, 1000]);
  });
});
