import { connect, type Socket } from 'node:net';
import { type Engine, startEngine } from '@iii/engine';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually } from './helpers/worker-process.js';

const HALF_UPGRADE = 'GET / HTTP/1.1\r\nHost: engine\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n';

/** Opens `n` raw sockets that each send half a WebSocket upgrade request and never finish it. */
async function halfOpen(
  port: number,
  n: number,
): Promise<{ sockets: Socket[]; closed: () => number; replies: string[] }> {
  const sockets: Socket[] = [];
  const replies: string[] = [];
  let closed = 0;
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const s = connect(port, '127.0.0.1', () => {
            s.write(HALF_UPGRADE);
            resolve();
          });
          s.on('data', (d) => replies.push(d.toString()));
          s.on('error', () => {});
          s.on('close', () => {
            closed++;
            resolve();
          });
          sockets.push(s);
        }),
    ),
  );
  return { sockets, closed: () => closed, replies };
}

describe('the engine bounds what a stranger can hold', () => {
  let engine: Engine | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await engine?.close();
    engine = undefined;
  });

  it('closes connections that never finish their handshake, and says so once per peer', async () => {
    const said: string[] = [];
    engine = await startEngine({ port: 0, handshakeTimeoutMs: 500, report: (m) => said.push(m) });
    const open = await halfOpen(engine.port, 300);
    sockets.push(...open.sockets);
    await eventually(() => open.closed() === 300);
    await eventually(() => engine!.connections().open === 0);
    expect(engine.connections()).toEqual({ open: 0, handshaking: 0 });
    expect(said).toEqual([
      'engine: closed a connection from 127.0.0.1 that did not finish its WebSocket handshake within 0.5 s; not logged again for it',
    ]);
  });

  it('leaves a finished WebSocket open past the handshake timeout', async () => {
    engine = await startEngine({ port: 0, handshakeTimeoutMs: 200 });
    const ws = new WebSocket(engine.address);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    try {
      await new Promise((r) => setTimeout(r, 600));
      expect(ws.readyState).toBe(WebSocket.OPEN);
      expect(engine.connections()).toEqual({ open: 1, handshaking: 0 });
    } finally {
      ws.terminate();
    }
  });

  it('answers 503 to connections over the per-peer bound and accepts again once some close', async () => {
    const said: string[] = [];
    engine = await startEngine({ port: 0, maxConnectionsPerPeer: 5, report: (m) => said.push(m) });
    const held = await halfOpen(engine.port, 5);
    sockets.push(...held.sockets);
    await eventually(() => engine!.connections().open === 5);
    const extra = await halfOpen(engine.port, 3);
    sockets.push(...extra.sockets);
    await eventually(() => extra.closed() === 3);
    expect(extra.replies.join('')).toContain('HTTP/1.1 503 Service Unavailable');
    expect(held.closed()).toBe(0);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^engine: refusing connections from 127\.0\.0\.1: it holds 5 already/);

    for (const s of held.sockets.slice(0, 2)) s.destroy();
    await eventually(() => engine!.connections().open === 3);
    const ws = new WebSocket(engine.address);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.terminate();
  });
});
