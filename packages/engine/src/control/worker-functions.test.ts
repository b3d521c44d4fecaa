import { describe, expect, it } from 'vitest';
import { UnknownWorkerError } from '../manager/errors.js';
import type { WorkerInfo } from '../manager/worker-info.js';
import type { WorkerController } from './worker-controller.js';
import { WorkerFunctions, workerFunctions } from './worker-functions.js';

const info = (name: string): WorkerInfo => ({ name, image: 'img', status: 'running', restarts: 0 });

/** A controller over an in-memory set of names, recording the calls it gets. */
function controller(calls: string[]): WorkerController {
  const known = (name: string) => {
    if (name !== 'a') throw new UnknownWorkerError(name);
  };
  return {
    list: async () => [info('a')],
    inspect: async (name) => {
      known(name);
      return {
        ...info(name),
        restartPolicy: 'on-failure',
        network: 'host',
        init: true,
        resources: {},
        logDir: '/logs',
      };
    },
    start: async (name) => {
      known(name);
      calls.push(`start ${name}`);
      return { worker: info(name), started: true };
    },
    stop: async (name, o) => {
      known(name);
      calls.push(`stop ${name} ${o?.timeoutMs}`);
      return { ...info(name), status: 'stopped' };
    },
    restart: async (name, o) => {
      known(name);
      calls.push(`restart ${name} ${o?.timeoutMs}`);
      return info(name);
    },
    reload: async (o) => {
      calls.push(`reload ${o?.only?.join(',') ?? '*'}`);
      return { applied: true, lines: [], changes: [] };
    },
  };
}

const ctx = { caller: undefined, callerWorkerId: undefined };

describe('iii::workers::* built-ins', () => {
  it('are internal and owner-only, so function lists hide them from everyone else', () => {
    const fns = workerFunctions(controller([]));
    expect(Object.keys(fns).sort()).toEqual(Object.values(WorkerFunctions).sort());
    for (const def of Object.values(fns)) {
      expect(def.metadata).toEqual({ internal: true });
      expect(def.ownerOnly).toBe(true);
    }
  });

  it('pass names and grace periods to the manager', async () => {
    const calls: string[] = [];
    const fns = workerFunctions(controller(calls));
    expect(await fns[WorkerFunctions.list]!.handler({}, ctx)).toEqual({ workers: [info('a')] });
    await fns[WorkerFunctions.stop]!.handler({ name: 'a', timeoutMs: 2500 }, ctx);
    await fns[WorkerFunctions.restart]!.handler({ name: 'a' }, ctx);
    expect(await fns[WorkerFunctions.start]!.handler({ name: 'a' }, ctx)).toEqual({
      worker: info('a'),
      started: true,
    });
    await fns[WorkerFunctions.reload]!.handler({}, ctx);
    await fns[WorkerFunctions.reload]!.handler({ only: ['a'] }, ctx);
    expect(calls).toEqual(['stop a 2500', 'restart a undefined', 'start a', 'reload *', 'reload a']);
  });

  it('answer bad input with invalid_input', async () => {
    const fns = workerFunctions(controller([]));
    await expect(fns[WorkerFunctions.stop]!.handler({ name: 'a', timeoutMs: -1 }, ctx)).rejects.toMatchObject(
      {
        code: 'invalid_input',
      },
    );
    await expect(fns[WorkerFunctions.start]!.handler(null, ctx)).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('keep the code of manager errors for the caller', async () => {
    const fns = workerFunctions(controller([]));
    await expect(fns[WorkerFunctions.inspect]!.handler({ name: 'nope' }, ctx)).rejects.toMatchObject({
      code: 'WORKER_NOT_FOUND',
      message: expect.stringContaining('nope'),
    });
  });
});
