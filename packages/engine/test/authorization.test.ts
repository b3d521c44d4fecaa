import { type Engine, startEngine } from '@iii/engine';
import { registerWorker as ourRegisterWorker } from '@iii/sdk';
import { registerWorker } from 'iii-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

interface Listed {
  functions: { function_id: string }[];
}

/** A call the official SDK makes and its outcome, error or result. */
async function outcome(p: Promise<unknown>): Promise<{ ok: unknown } | { code: string; message: string }> {
  try {
    return { ok: await p };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: String(e.code), message: String(e.message) };
  }
}

describe('owner-only built-ins', () => {
  let engine: Engine;
  const calls: unknown[] = [];
  const warnings: string[] = [];
  const token = 'a-test-token-that-only-the-owner-knows';
  const clients: Array<{ shutdown(): Promise<void> | void }> = [];

  beforeAll(async () => {
    engine = await startEngine({ port: 0, managementToken: token, report: (m) => warnings.push(m) });
    engine.registerBuiltin('iii::test::secret', {
      ownerOnly: true,
      metadata: { internal: true },
      handler: (data) => {
        calls.push(data);
        return { secret: 'S3CR3T' };
      },
    });
  });
  afterAll(async () => {
    for (const c of clients) await c.shutdown();
    await engine?.close();
  });

  it('refuses the official iii-sdk without the token: forbidden, nothing done, not listed', async () => {
    const sdk = registerWorker(engine.address, { workerName: 'stranger' });
    clients.push(sdk);
    sdk.registerFunction('stranger::ping', async () => 'pong');
    const refused = await outcome(
      sdk.trigger({ function_id: 'iii::test::secret', payload: { name: 'x', password: 'hunter2' } }),
    );
    expect(refused).toMatchObject({ code: 'forbidden' });
    expect(JSON.stringify(refused)).not.toContain('S3CR3T');
    expect(calls).toEqual([]);
    const listed = (await sdk.trigger({
      function_id: 'engine::functions::list',
      payload: { include_internal: true },
    })) as Listed;
    const ids = listed.functions.map((f) => f.function_id);
    expect(ids).toContain('engine::functions::list');
    expect(ids).not.toContain('iii::test::secret');
    expect(
      await outcome(
        sdk.trigger({
          function_id: 'engine::functions::info',
          payload: { function_id: 'iii::test::secret' },
        }),
      ),
    ).toMatchObject({ code: 'function_not_found' });
    // The worker protocol is untouched: it registered a function that anyone can call.
    expect(await sdk.trigger({ function_id: 'stranger::ping', payload: {} })).toBe('pong');
  });

  it('logs a refusal once per client and function, with who and from where, never the payload', async () => {
    const sdk = registerWorker(engine.address, { workerName: 'repeat-offender' });
    clients.push(sdk);
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 3; i++) {
      await outcome(sdk.trigger({ function_id: 'iii::test::secret', payload: { password: 'hunter2' } }));
    }
    const mine = warnings.filter((w) => w.includes('repeat-offender'));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatch(
      /^refused iii::test::secret to worker "repeat-offender" \([0-9a-f-]{36}\) from 127\.0\.0\.1:\d+: it presented no management token$/,
    );
    expect(warnings.join('\n')).not.toContain('hunter2');
  });

  it('refuses a wrong token the same way, and says so', async () => {
    const sdk = registerWorker(engine.address, { headers: { Authorization: 'Bearer not-the-token' } });
    clients.push(sdk);
    const refused = await outcome(sdk.trigger({ function_id: 'iii::test::secret', payload: {} }));
    expect(refused).toMatchObject({ code: 'forbidden', message: expect.stringContaining('not this engine') });
    expect(calls).toEqual([]);
  });

  it('serves the owner: the official iii-sdk and @iii/sdk with the token on the handshake', async () => {
    const official = registerWorker(engine.address, { headers: { Authorization: `Bearer ${token}` } });
    clients.push(official);
    expect(await official.trigger({ function_id: 'iii::test::secret', payload: { n: 1 } })).toEqual({
      secret: 'S3CR3T',
    });
    const listed = (await official.trigger({
      function_id: 'engine::functions::list',
      payload: { include_internal: true },
    })) as Listed;
    expect(listed.functions.map((f) => f.function_id)).toContain('iii::test::secret');
    const ours = ourRegisterWorker(engine.address, {
      announce: false,
      headers: { Authorization: `Bearer ${token}` },
    });
    clients.push(ours);
    expect(await ours.trigger({ function_id: 'iii::test::secret', payload: { n: 2 } })).toEqual({
      secret: 'S3CR3T',
    });
    expect(calls).toHaveLength(2);
  });

  it('never lets a worker take over a built-in by registering its id', async () => {
    const ws = new WebSocket(engine.address);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'registerfunction', id: 'iii::test::secret' }));
    const owner = ourRegisterWorker(engine.address, {
      announce: false,
      headers: { Authorization: `Bearer ${token}` },
    });
    clients.push(owner);
    await new Promise((r) => setTimeout(r, 100));
    expect(await owner.trigger({ function_id: 'iii::test::secret', payload: {} })).toEqual({
      secret: 'S3CR3T',
    });
    ws.terminate();
  });
});
