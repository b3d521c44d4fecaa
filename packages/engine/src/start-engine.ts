import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { BuiltinDefinition, BuiltinHandler } from './builtin.js';
import { functionBuiltins } from './builtins/function-builtins.js';
import { logBuiltins } from './builtins/log-builtins.js';
import { listWorkers, type WorkerListEntry, workerBuiltins } from './builtins/worker-builtins.js';
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS_PER_PEER,
  guardConnections,
} from './connection-guard.js';
import type { LogOrigin, LogSink } from './log-sink.js';
import { bearerToken, createManagementToken, tokenMatches } from './management-token.js';
import { parseOtelLogs } from './otel-logs.js';
import type { Peer } from './peer.js';
import { Router } from './router.js';
import { WorkerConnection } from './worker-connection.js';

/** Options of {@link startEngine}. */
export interface EngineOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 49134. */
  port?: number;
  /** Extra built-in functions (e.g. `iii::workers::*` of the worker manager), by function id. */
  builtins?: Record<string, BuiltinHandler | BuiltinDefinition>;
  /** Where worker log lines go (`engine::log::*` and `/otel` LOGS). Default: dropped. */
  logSink?: LogSink;
  /** Largest accepted frame in bytes; a bigger one closes that connection only (1009). Default 16 MiB. */
  maxPayload?: number;
  /** How long {@link Engine.close} waits for in-flight invocations. Default 5000 ms. */
  drainTimeoutMs?: number;
  /**
   * Interval of WebSocket pings to every connection; one that has not answered the previous ping is
   * dropped, so a half-open socket cannot hold invocations forever. Default 30000 ms.
   */
  heartbeatMs?: number;
  /**
   * The secret a client presents (`Authorization: Bearer <token>` on the handshake) to call the
   * owner-only built-ins. Default: a new random one, readable as {@link Engine.managementToken}.
   */
  managementToken?: string;
  /** A connection that has not finished its WebSocket handshake by then is closed. Default 10000 ms. */
  handshakeTimeoutMs?: number;
  /**
   * Most connections one peer address (an IPv6 peer: its /64) may hold at once; more are answered
   * 503 and closed. Workers of this machine all connect from loopback, so keep it well above twice
   * the number of workers. Default 1024.
   */
  maxConnectionsPerPeer?: number;
  /**
   * What the owner should hear about, one line each: refused management calls, a function id refused
   * because another live worker serves it, a function handed to a waiting worker when its server
   * left, refused and timed-out connections (each said once per peer). Default: dropped.
   */
  report?: (message: string) => void;
  /** Diagnostics about ignored frames and routing misses. Default: dropped. */
  debug?: (message: string) => void;
  /** Clock for connection timestamps. */
  now?: () => number;
}

/** A running engine. */
export interface Engine {
  /** `ws://host:port` of the bound socket (the real port when 0 was asked). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** What a client presents to be the owner; keep it where only the owner can read it. */
  readonly managementToken: string;
  /** Adds or replaces a built-in function. */
  registerBuiltin(id: string, handler: BuiltinHandler | BuiltinDefinition): void;
  /** Workers that announced themselves, as `engine::workers::list` returns them. */
  listWorkers(): WorkerListEntry[];
  /** Every open worker connection (announced or not), with the TCP ports of both ends. */
  listConnections(): ConnectionInfo[];
  /** TCP connections open now, and how many of them are still in their WebSocket handshake. */
  connections(): { open: number; handshaking: number };
  /**
   * Stops accepting connections, waits up to `drainTimeoutMs` for in-flight invocations to finish,
   * then closes every socket with 1001 (workers reconnect to the next engine) and the listener.
   */
  close(): Promise<void>;
}

/** An open connection on `/`, for telling which process holds it (see `connectionsHeldBy`). */
export interface ConnectionInfo {
  id: string;
  /** The name it gave through `engine::workers::register`: a claim, not a proof. */
  name: string | undefined;
  connectedAtMs: number;
  remoteAddress: string;
  remotePort: number;
  localPort: number;
}

const DEFAULT_PORT = 49134;
const DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024;
const OTEL_PREFIXES = new Set(['LOGS', 'OTLP', 'MTRC']);

function toDefinition(value: BuiltinHandler | BuiltinDefinition): BuiltinDefinition {
  return typeof value === 'function' ? { handler: value } : value;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts the engine's WebSocket server: workers on `/`, telemetry on `/otel`. */
export async function startEngine(options: EngineOptions = {}): Promise<Engine> {
  const host = options.host ?? '127.0.0.1';
  const debug = options.debug ?? (() => {});
  const logSink: LogSink = options.logSink ?? (() => {});
  const now = options.now ?? Date.now;
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const report = options.report ?? (() => {});
  const router = new Router(debug, report);
  const managementToken = options.managementToken ?? createManagementToken();
  const peerOf = (req: IncomingMessage): Peer => {
    const presented = bearerToken(req.headers.authorization);
    const remote = req.socket.remoteAddress ?? '';
    return {
      address: `${formatHost(remote)}:${req.socket.remotePort ?? ''}`,
      access:
        presented === undefined
          ? 'anonymous'
          : tokenMatches(managementToken, presented)
            ? 'owner'
            : 'wrong-token',
    };
  };

  const builtins: Record<string, BuiltinDefinition> = {
    ...workerBuiltins(router),
    ...functionBuiltins(router),
    ...logBuiltins(logSink),
  };
  for (const [id, value] of Object.entries(options.builtins ?? {})) builtins[id] = toDefinition(value);
  for (const [id, def] of Object.entries(builtins)) router.addBuiltin(id, def);

  const http = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('iii engine: connect with a WebSocket\n');
  });
  const guard = guardConnections(http, {
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    maxConnectionsPerPeer: options.maxConnectionsPerPeer ?? DEFAULT_MAX_CONNECTIONS_PER_PEER,
    report,
  });
  const workers = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false });
  const otel = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://engine').pathname.replace(/\/+$/, '');
    const target = path === '' ? workers : path === '/otel' ? otel : undefined;
    if (!target) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    target.handleUpgrade(req, socket, head, (ws) => {
      guard.upgraded(socket);
      target.emit('connection', ws, req);
    });
  });

  const alive = new WeakSet<WebSocket>();
  const heartbeat = setInterval(() => {
    for (const ws of workers.clients) {
      if (!alive.has(ws)) {
        debug('dropping a connection that did not answer a ping');
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, options.heartbeatMs ?? 30_000);
  heartbeat.unref();

  workers.on('connection', (ws, req: IncomingMessage) => {
    const conn = new WorkerConnection(ws, req.socket.remoteAddress ?? '', now(), peerOf(req), {
      remotePort: req.socket.remotePort,
      localPort: req.socket.localPort,
      // The upgraded request's socket is the one the WebSocket writes to.
      tcp: req.socket,
    });
    // A protocol violation (e.g. a frame over maxPayload) closes this socket only.
    ws.on('error', (err) => debug(`connection ${conn.id}: ${err.message}`));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        debug(`ignored a binary frame from ${conn.id}`);
        return;
      }
      try {
        router.handleText(conn, data.toString());
      } catch (err) {
        debug(`frame from ${conn.id} failed: ${(err as Error).message}`);
      }
    });
    ws.on('close', () => router.detach(conn));
    ws.on('pong', () => alive.add(ws));
    alive.add(ws);
    router.attach(conn);
  });

  otel.on('connection', (ws, req: IncomingMessage) => {
    // Who sent these records, for the sink to check which process holds this socket.
    const origin: LogOrigin = {
      id: randomUUID(),
      connectedAtMs: now(),
      remotePort: req.socket.remotePort ?? 0,
      localPort: req.socket.localPort ?? 0,
      peer: peerOf(req),
    };
    ws.on('error', (err) => debug(`otel connection: ${err.message}`));
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const prefix = buf.subarray(0, 4).toString('latin1');
      if (!OTEL_PREFIXES.has(prefix)) {
        debug(`ignored an /otel frame with prefix ${JSON.stringify(prefix)}`);
        return;
      }
      // Traces and metrics have no consumer yet; logs go to the worker that wrote them.
      if (prefix !== 'LOGS') return;
      const names = new Set([...router.connections.values()].map((c) => c.metadata?.name).filter(Boolean));
      for (const rec of parseOtelLogs(buf.subarray(4).toString('utf8'))) {
        // Managed workers run with OTEL_SERVICE_NAME set to their name; otherwise the trace tells.
        const byService = rec.serviceName && names.has(rec.serviceName) ? rec.serviceName : undefined;
        const byTrace = rec.traceId ? router.workerForTrace(rec.traceId) : undefined;
        const name = byService ?? byTrace ?? rec.serviceName ?? 'unknown';
        logSink(name, rec.level, rec.message, rec.data, origin);
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? DEFAULT_PORT, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;

  return {
    address: `ws://${formatHost(host)}:${port}`,
    host,
    port,
    managementToken,
    registerBuiltin(id, handler) {
      router.addBuiltin(id, toDefinition(handler));
    },
    listWorkers: () => listWorkers(router),
    listConnections: () =>
      [...router.connections.values()]
        .filter((c) => !c.retired && c.open)
        .map((c) => ({
          id: c.id,
          name: c.metadata?.name,
          connectedAtMs: c.connectedAtMs,
          remoteAddress: c.ipAddress,
          remotePort: c.remotePort,
          localPort: c.localPort,
        })),
    connections: () => guard.counts(),
    close() {
      closing ??= (async () => {
        clearInterval(heartbeat);
        const listenerClosed = new Promise<void>((resolve) => http.close(() => resolve()));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          router.drained(),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, options.drainTimeoutMs ?? 5000);
          }),
        ]);
        clearTimeout(timer);
        // Callers still waiting hear why before their sockets close.
        router.stopAll();
        for (const wss of [workers, otel]) {
          for (const client of wss.clients) {
            client.close(1001, 'engine shutting down');
            // A peer that does not answer the close handshake must not hold the port.
            setTimeout(() => client.terminate(), 1000).unref();
          }
        }
        await Promise.all([
          new Promise<void>((resolve) => workers.close(() => resolve())),
          new Promise<void>((resolve) => otel.close(() => resolve())),
        ]);
        http.closeAllConnections();
        await listenerClosed;
      })();
      return closing;
    },
  };
}
