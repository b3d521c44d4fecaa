import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Peer } from './peer.js';

/** What a worker says about itself through `engine::workers::register`. */
export interface WorkerMetadata {
  name: string;
  description?: string;
  runtime?: string;
  version?: string;
  os?: string;
  pid?: number;
  isolation?: string | null;
  telemetry?: unknown;
}

/** One WebSocket connection on `/`: a worker, a caller, or both. */
export class WorkerConnection {
  readonly id = randomUUID();
  readonly reattachToken = randomUUID();
  readonly connectedAtMs: number;
  readonly ipAddress: string;
  /** TCP ports of the peer's end and of the engine's end (0 when unknown). */
  readonly remotePort: number;
  readonly localPort: number;
  private readonly socket: WebSocket;
  /** The TCP socket under the WebSocket, when known: frames of one tick are corked into one write. */
  private readonly tcp: Socket | undefined;
  /** Set once the worker calls `engine::workers::register`; unregistered connections are not listed. */
  metadata: WorkerMetadata | undefined;
  /** Function ids this connection currently owns. */
  readonly functionIds = new Set<string>();
  /** True once a reattach moved this connection's work elsewhere; its close then stops nothing. */
  retired = false;
  /** Where it came from and whether it proved to be the owner (on the handshake). */
  readonly peer: Peer;
  /** Owner-only functions this connection was refused, so each is logged once. */
  readonly refused = new Set<string>();

  constructor(
    socket: WebSocket,
    ipAddress: string,
    now: number,
    peer?: Peer,
    ports: { remotePort?: number; localPort?: number; tcp?: Socket } = {},
  ) {
    this.socket = socket;
    this.tcp = ports.tcp;
    this.ipAddress = ipAddress;
    this.connectedAtMs = now;
    this.peer = peer ?? { address: ipAddress, access: 'anonymous' };
    this.remotePort = ports.remotePort ?? 0;
    this.localPort = ports.localPort ?? 0;
  }

  /** The name used in lists and logs: the registered name, else the connection id. */
  get name(): string {
    return this.metadata?.name ?? this.id;
  }

  get open(): boolean {
    return this.socket.readyState === 1;
  }

  private corked = false;

  /**
   * Sends a frame; a socket closing under us is not an error (its close handler cleans up). Frames sent
   * in the same tick leave in one write: under load this saves a syscall per frame.
   */
  send(text: string): void {
    if (this.socket.readyState !== 1) return;
    const tcp = this.tcp;
    if (tcp && !this.corked) {
      this.corked = true;
      tcp.cork();
      process.nextTick(() => {
        this.corked = false;
        tcp.uncork();
      });
    }
    this.socket.send(text);
  }

  /** Drops the connection at once, without a closing handshake (its close handler cleans up). */
  close(): void {
    this.socket.terminate();
  }
}
