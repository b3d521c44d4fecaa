import { type Engine, startEngine } from '@iii/engine';
import { InvocationError, registerWorker, TriggerAction, type WorkerClient } from '@iii/sdk';
import { registerWorker as registerOfficial } from 'iii-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, spawnWorker, type WorkerProcess, waitForFunctions } from './helpers/worker-process.js';

// The official SDK starts OpenTelemetry in-process unless told not to; the callers here need no telemetry.
process.env.OTEL_ENABLED = 'false';

type OfficialClient = ReturnType<typeof registerOfficial>;

describe('engine with workers written with iii-sdk and with @iii/sdk', () => {
  let engine: Engine;
  const logs: Array<{ worker: string; level: string; message: string; data: unknown }> = [];
  let official: WorkerProcess;
  let ours: WorkerProcess;
  let ourCaller: WorkerClient;
  let officialCaller: OfficialClient;
  const reports: string[] = [];

  beforeAll(async () => {
    engine = await startEngine({
      port: 0,
      report: (line) => reports.push(line),
      logSink: (worker, level, message, data) => logs.push({ worker, level, message, data }),
    });
    official = spawnWorker('official', {
      address: engine.address,
      name: 'official-worker',
      prefix: 'official',
    });
    ours = spawnWorker('ours', { address: engine.address, name: 'our-worker', prefix: 'ours' });
    ourCaller = registerWorker(engine.address, { announce: false });
    officialCaller = registerOfficial(engine.address, { workerName: 'official-caller' });
    await waitForFunctions(ourCaller, ['official::echo', 'ours::echo']);
  });

  afterAll(async () => {
    await ourCaller?.shutdown();
    await officialCaller?.shutdown();
    await official?.kill();
    await ours?.kill();
    await engine?.close();
  });

  it.each(['official', 'ours'])(
    'a function of the %s worker answers callers on both SDKs',
    async (prefix) => {
      const fromOurs = await ourCaller.trigger({ function_id: `${prefix}::echo`, payload: { n: 1 } });
      const fromOfficial = await officialCaller.trigger({
        function_id: `${prefix}::echo`,
        payload: { n: 2 },
      });
      const by = prefix === 'official' ? 'iii-sdk' : '@iii/sdk';
      expect(fromOurs).toEqual({ echoed: { n: 1, _caller_worker_id: expect.any(String) }, by });
      expect(fromOfficial).toEqual({ echoed: { n: 2, _caller_worker_id: expect.any(String) }, by });
    },
  );

  it('adds the caller worker id to object data', async () => {
    const result = await ourCaller.trigger<unknown, { echoed: Record<string, unknown> }>({
      function_id: 'official::echo',
      payload: { n: 3 },
    });
    expect(result.echoed._caller_worker_id).toBe(ourCaller.workerId);
    // Non-object data is passed through untouched.
    await expect(ourCaller.trigger({ function_id: 'ours::echo', payload: [1, 2] })).resolves.toEqual({
      echoed: [1, 2],
      by: '@iii/sdk',
    });
  });

  it.each([
    ['official', 'official handler failed on purpose'],
    ['ours', 'our handler failed on purpose'],
  ])(
    'a throwing handler of the %s worker fails callers with invocation_failed and its message',
    async (prefix, message) => {
      for (const caller of [ourCaller, officialCaller] as const) {
        const err = await caller
          .trigger({ function_id: `${prefix}::fail`, payload: {} })
          .catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'invocation_failed', message: `invocation_failed: ${message}` });
        expect((err as { stacktrace?: string }).stacktrace).toContain(message);
      }
      const err = await ourCaller
        .trigger({ function_id: `${prefix}::fail`, payload: {} })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvocationError);
      expect((err as InvocationError).function_id).toBe(`${prefix}::fail`);
    },
  );

  it('an unknown function fails callers on both SDKs with function_not_found', async () => {
    for (const caller of [ourCaller, officialCaller] as const) {
      const err = await caller.trigger({ function_id: 'nobody::here', payload: {} }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'function_not_found',
        message: 'function_not_found: Function nobody::here not found',
      });
    }
  });

  it('engine::workers::list and engine::functions::list show both workers and their functions', async () => {
    const { workers } = await ourCaller.trigger<
      unknown,
      {
        workers: Array<{ name: string; runtime: string; function_count: number; status: string }>;
      }
    >({ function_id: 'engine::workers::list', payload: {} });
    const byName = new Map(workers.map((w) => [w.name, w]));
    expect(byName.get('official-worker')).toMatchObject({
      runtime: 'node',
      function_count: 4,
      status: 'connected',
    });
    expect(byName.get('our-worker')).toMatchObject({
      runtime: 'node',
      function_count: 4,
      status: 'connected',
    });
    // A caller that never announced itself (like the CLI) is not a worker.
    expect(workers.some((w) => w.name.includes(String(process.pid)))).toBe(false);

    const { functions } = await officialCaller.trigger<
      unknown,
      {
        functions: Array<{ function_id: string; worker_name: string; description?: string }>;
      }
    >({ function_id: 'engine::functions::list', payload: {} });
    for (const prefix of ['official', 'ours']) {
      const worker = prefix === 'official' ? 'official-worker' : 'our-worker';
      for (const name of ['echo', 'fail', 'slow', 'log']) {
        expect(functions).toContainEqual(
          expect.objectContaining({ function_id: `${prefix}::${name}`, worker_name: worker }),
        );
      }
    }
    expect(functions.find((f) => f.function_id === 'ours::echo')?.description).toBe('Echoes its input');
    // Built-ins are internal and only listed on request.
    expect(functions.some((f) => f.function_id.startsWith('engine::'))).toBe(false);
    const all = await ourCaller.trigger<unknown, { functions: Array<{ function_id: string }> }>({
      function_id: 'engine::functions::list',
      payload: { include_internal: true, prefix: 'engine::workers::' },
    });
    expect(all.functions.map((f) => f.function_id)).toEqual([
      'engine::workers::list',
      'engine::workers::register',
    ]);
    const filtered = await ourCaller.trigger<unknown, { functions: Array<{ function_id: string }> }>({
      function_id: 'engine::functions::list',
      payload: { worker: 'our-worker' },
    });
    expect(filtered.functions.map((f) => f.function_id)).toEqual([
      'ours::echo',
      'ours::fail',
      'ours::log',
      'ours::slow',
    ]);
    await expect(
      ourCaller.trigger({
        function_id: 'engine::functions::info',
        payload: { function_id: 'official::echo' },
      }),
    ).resolves.toMatchObject({ function_id: 'official::echo', worker_name: 'official-worker' });
  });

  it('fire-and-forget calls run the function without an answer, and Logger lines reach the log sink', async () => {
    await expect(
      ourCaller.trigger({
        function_id: 'ours::log',
        payload: { message: 'void call ran' },
        action: TriggerAction.Void(),
      }),
    ).resolves.toBeUndefined();
    await eventually(() => logs.some((l) => l.message === 'void call ran'));
    expect(logs.find((l) => l.message === 'void call ran')).toEqual({
      worker: 'our-worker',
      level: 'info',
      message: 'void call ran',
      data: { from: '@iii/sdk' },
    });
    // The official SDK's fire-and-forget too.
    await officialCaller.trigger({
      function_id: 'ours::log',
      payload: { message: 'official void' },
      action: { type: 'void' },
    });
    await eventually(() => logs.some((l) => l.message === 'official void'));
  });

  it('log records of an iii-sdk worker arrive over /otel under the worker name', async () => {
    const name = 'official-otel';
    const worker = spawnWorker('official', {
      address: engine.address,
      name,
      prefix: 'otel',
      env: { OTEL_ENABLED: 'true', OTEL_SERVICE_NAME: name },
    });
    try {
      await waitForFunctions(ourCaller, ['otel::log']);
      await eventually(async () => {
        // Called until the telemetry socket is up; the first lines may be sent before it is.
        await ourCaller.trigger({ function_id: 'otel::log', payload: { message: 'over otel' } });
        return logs.some((l) => l.message === 'over otel' && l.worker === name);
      });
      expect(logs.find((l) => l.message === 'over otel')).toMatchObject({
        level: 'info',
        data: { from: 'iii-sdk' },
      });
    } finally {
      await worker.kill();
    }
  });

  it('two iii-sdk workers registering one function id: the first serves, the second takes over when it leaves', async () => {
    const first = registerOfficial(engine.address, { workerName: 'dup-first' });
    const second = registerOfficial(engine.address, { workerName: 'dup-second' });
    try {
      first.registerFunction('dup::who', async () => 'first');
      await waitForFunctions(ourCaller, ['dup::who']);
      second.registerFunction('dup::who', async () => 'second');
      await eventually(() => reports.some((r) => r.includes('refused it from worker "dup-second"')));
      for (let i = 0; i < 3; i++) {
        await expect(ourCaller.trigger({ function_id: 'dup::who', payload: {} })).resolves.toBe('first');
      }
      await first.shutdown();
      // A call racing the first worker's goodbye may be stopped; the next ones reach the second.
      await eventually(async () =>
        ourCaller.trigger({ function_id: 'dup::who', payload: {} }).then(
          (who) => who === 'second',
          () => false,
        ),
      );
      expect(reports).toContain(
        'function "dup::who": worker "dup-first" left; worker "dup-second" serves it now',
      );
    } finally {
      await first.shutdown();
      await second.shutdown();
    }
  });

  it.each(['official', 'ours'] as const)(
    'killing the %s worker mid-invocation stops the waiting call with invocation_stopped',
    async (kind) => {
      const prefix = `victim-${kind}`;
      const victim = spawnWorker(kind, { address: engine.address, name: prefix, prefix });
      await waitForFunctions(ourCaller, [`${prefix}::slow`]);
      const ourCall = ourCaller
        .trigger({ function_id: `${prefix}::slow`, payload: {} })
        .catch((e: unknown) => e);
      const officialCall = officialCaller
        .trigger({ function_id: `${prefix}::slow`, payload: {} })
        .catch((e: unknown) => e);
      await victim.waitForLine('slow-started');
      await victim.kill('SIGKILL');
      for (const err of await Promise.all([ourCall, officialCall])) {
        expect(err).toMatchObject({
          code: 'invocation_stopped',
          message: 'invocation_stopped: Invocation stopped',
        });
      }
      // Its functions are gone with it.
      const err = await ourCaller
        .trigger({ function_id: `${prefix}::echo`, payload: {} })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'function_not_found' });
    },
  );
});
