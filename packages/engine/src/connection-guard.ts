import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** How long a connection may take to finish its WebSocket handshake. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Open connections one peer may hold at once. Every worker of this machine connects from loopback
 * (two sockets each with the official SDKs: `/` and `/otel`), and so does every CLI call, so the
 * bound must stay far above what a machine full of workers uses; it exists to stop one address
 * from taking every file descriptor of the engine.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_PEER = 1024;

/** Peers remembered for "said once" messages; beyond it new peers are not logged, so memory stays bounded. */
const MAX_REPORTED_PEERS = 1000;

const REFUSAL =
  'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\ntoo many connections from this address\n';

export interface ConnectionGuardOptions {
  handshakeTimeoutMs: number;
  maxConnectionsPerPeer: number;
  /** One line for the engine's owner; each kind of event is said once per peer. */
  report: (message: string) => void;
}

export interface ConnectionGuard {
  /** The socket finished its WebSocket handshake: from now on the heartbeat watches it instead. */
  upgraded(socket: Duplex): void;
  /** Open connections and those still in their handshake, over all peers. */
  counts(): { open: number; handshaking: number };
}

/**
 * Bounds what a stranger can make the engine hold: every accepted socket must finish its WebSocket
 * handshake within `handshakeTimeoutMs` or is closed, and one peer address (an IPv6 peer by its
 * /64, which one host usually owns whole) may hold at most `maxConnectionsPerPeer` sockets, more
 * are answered 503 and closed at once.
 */
export function guardConnections(server: Server, options: ConnectionGuardOptions): ConnectionGuard {
  const perPeer = new Map<string, number>();
  const pending = new Map<Duplex, NodeJS.Timeout>();
  const reported = new Set<string>();
  let open = 0;

  const once = (kind: string, peer: string, message: string) => {
    const key = `${kind} ${peer}`;
    if (reported.has(key) || reported.size >= MAX_REPORTED_PEERS) return;
    reported.add(key);
    options.report(message);
  };

  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const peer = peerKey(address);
    const held = perPeer.get(peer) ?? 0;
    if (held >= options.maxConnectionsPerPeer) {
      once(
        'limit',
        peer,
        `engine: refusing connections from ${address}: it holds ${held} already, the most one address may (engine.max_connections_per_peer); not logged again for it`,
      );
      socket.end(REFUSAL, () => socket.destroy());
      return;
    }
    perPeer.set(peer, held + 1);
    open++;
    const timer = setTimeout(() => {
      once(
        'handshake',
        peer,
        `engine: closed a connection from ${address} that did not finish its WebSocket handshake within ${options.handshakeTimeoutMs / 1000} s; not logged again for it`,
      );
      socket.destroy();
    }, options.handshakeTimeoutMs);
    timer.unref();
    pending.set(socket, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      pending.delete(socket);
      open--;
      const left = (perPeer.get(peer) ?? 1) - 1;
      if (left > 0) perPeer.set(peer, left);
      else perPeer.delete(peer);
    });
  });

  return {
    upgraded(socket) {
      clearTimeout(pending.get(socket));
      pending.delete(socket);
    },
    counts: () => ({ open, handshaking: pending.size }),
  };
}

/** The address a limit counts against: IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
export function peerKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}
