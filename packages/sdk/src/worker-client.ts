import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { arch, platform, release } from 'node:os';
import { WebSocket } from 'ws';
import { EngineConnectionError } from './engine-connection-error.js';
import { InvocationError, isErrorBody } from './invocation-error.js';
import { EngineFunctions } from './protocol/engine-functions.js';
import type {
  HttpInvocationConfig,
  InvokeFunctionFrame,
  JsonValue,
  RegisterFunctionFrame,
  RegisterTriggerFrame,
  RegisterTriggerTypeFrame,
  TriggerActionBody,
} from './protocol/frames.js';
import { MessageType } from './protocol/message-type.js';
import { parseFrame } from './protocol/parse-frame.js';
import {
  DEFAULT_RECONNECTION_CONFIG,
  type ReconnectionConfig,
  reconnectDelayMs,
} from './reconnect-backoff.js';

/** Same cadence as the official SDKs: ping every 20 s, give up on a silent socket after 60 s. */
const PING_INTERVAL_MS = 20_000;
const IDLE_TIMEOUT_MS = 60_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const SDK_VERSION = '0.0.0';

/** Options of {@link registerWorker}. */
export interface WorkerOptions {
  /** Name shown in worker lists and logs. Default `$III_WORKER_NAME`, then `hostname:pid`. */
  workerName?: string;
  /** One-line summary of what the worker does. */
  workerDescription?: string;
  /** Default timeout of {@link WorkerClient.trigger}. Default 30000 ms. */
  invocationTimeoutMs?: number;
  /** Reconnect behaviour; the default retries forever with 1 s..30 s backoff and ±30% jitter. */
  reconnectionConfig?: Partial<ReconnectionConfig>;
  /** Extra HTTP headers for the WebSocket handshake (e.g. authentication). */
  headers?: Record<string, string>;
  /**
   * Call `engine::workers::register` after every connect so the worker shows in worker lists.
   * Default true; clients that only call functions (like the `iii` CLI) turn it off.
   */
  announce?: boolean;
}

/** A function's implementation: gets the call's data (and metadata), returns the result. */
// biome-ignore lint/suspicious/noExplicitAny: handlers declare their input type, as with the official SDK.
export type FunctionHandler<In = any, Out = unknown> = (data: In, metadata?: JsonValue) => Out | Promise<Out>;

/** Options of {@link WorkerClient.registerFunction}. */
export interface RegisterFunctionOptions {
  description?: string;
  metadata?: Record<string, JsonValue>;
  request_format?: JsonValue;
  response_format?: JsonValue;
}

/** A function id registered by this client. */
export interface FunctionRef {
  id: string;
  /** Removes the function from the engine and from the replay set. */
  unregister(): void;
}

/** A request of {@link WorkerClient.trigger}. */
export interface TriggerRequest<P = unknown> {
  function_id: string;
  payload?: P;
  /** `TriggerAction.Void()` for fire-and-forget: resolves at once with `undefined`. */
  action?: TriggerActionBody;
  /** Overrides `invocationTimeoutMs` for this call; on expiry it rejects with code `TIMEOUT`. */
  timeoutMs?: number;
  metadata?: JsonValue;
}

/** A trigger instance bound to a function, as registered or delivered. */
export interface TriggerConfig {
  id: string;
  function_id: string;
  config: JsonValue;
  metadata?: JsonValue;
}

/** Implemented by a worker that provides a trigger type (cron, http, queue, ...). */
export interface TriggerHandler {
  registerTrigger(trigger: TriggerConfig): void | Promise<void>;
  unregisterTrigger(trigger: TriggerConfig): void | Promise<void>;
}

/** Options of {@link WorkerClient.registerTriggerType}. */
export interface TriggerTypeOptions {
  id: string;
  description: string;
  trigger_request_format?: JsonValue;
  call_request_format?: JsonValue;
}

/** Where a {@link WorkerClient}'s connection to the engine is. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'failed';

interface PendingInvocation {
  resolve(value: unknown): void;
  reject(error: Error): void;
  functionId: string;
  timer: NodeJS.Timeout;
}

type OutgoingFrame = Record<string, unknown> & { type: string };

/**
 * A connection to the iii engine that serves functions and calls them. Create it with
 * {@link registerWorker}; it connects in the background, reconnects forever and replays its
 * registrations after each reconnect, so code never waits for the connection.
 */
export class WorkerClient {
  readonly address: string;
  readonly workerName: string;
  private readonly workerDescription: string | undefined;
  private readonly invocationTimeoutMs: number;
  private readonly reconnection: ReconnectionConfig;
  private readonly headers: Record<string, string> | undefined;
  private readonly announce: boolean;

  private ws: WebSocket | undefined;
  /** The TCP socket under `ws`, from its upgrade response: frames of one tick are corked into one write. */
  private tcp: Socket | undefined;
  private corked = false;
  private state: ConnectionState = 'disconnected';
  private shuttingDown = false;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private id: string | undefined;
  private reattachToken: string | undefined;
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();

  /** Registrations, replayed in this order after every (re)connect. */
  private readonly triggerTypes = new Map<
    string,
    { frame: RegisterTriggerTypeFrame; handler: TriggerHandler }
  >();
  private readonly functions = new Map<string, { frame: RegisterFunctionFrame; handler?: FunctionHandler }>();
  private readonly triggers = new Map<string, RegisterTriggerFrame>();
  /** Frames that must not be lost (calls, results, unregistrations) while the socket is down. */
  private queue: OutgoingFrame[] = [];
  private readonly invocations = new Map<string, PendingInvocation>();

  constructor(
    address: string,
    options: Required<Pick<WorkerOptions, 'workerName'>> & Omit<WorkerOptions, 'workerName'>,
  ) {
    this.address = address;
    this.workerName = options.workerName;
    this.workerDescription = options.workerDescription;
    this.invocationTimeoutMs = options.invocationTimeoutMs ?? 30_000;
    this.reconnection = { ...DEFAULT_RECONNECTION_CONFIG, ...options.reconnectionConfig };
    this.headers = options.headers;
    this.announce = options.announce ?? true;
    this.connect();
  }

  /** The id the engine gave this connection (changes after a reconnect), once known. */
  get workerId(): string | undefined {
    return this.id;
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  /** Calls `listener` on every connection state change; returns a function that removes it. */
  onConnectionStateChange(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Serves `id` from this worker. `handler` gets the call's data (with `_caller_worker_id` added by the
   * engine when data is an object); what it returns is the result, what it throws becomes
   * `invocation_failed`. Pass an {@link HttpInvocationConfig} instead of a handler for a function the
   * engine calls over HTTP.
   */
  registerFunction(
    id: string,
    handler: FunctionHandler | (Omit<HttpInvocationConfig, 'method'> & { method?: string }),
    options: RegisterFunctionOptions = {},
  ): FunctionRef {
    if (!id || id.trim() === '') throw new Error('id is required');
    if (this.functions.has(id)) throw new Error(`function id already registered: ${id}`);
    const frame: RegisterFunctionFrame = { type: MessageType.RegisterFunction, id, ...options };
    if (typeof handler === 'function') {
      this.functions.set(id, { frame, handler });
    } else {
      frame.invocation = { ...handler, method: handler.method ?? 'POST' };
      this.functions.set(id, { frame });
    }
    this.send(frame, true);
    return {
      id,
      unregister: () => {
        if (!this.functions.delete(id)) return;
        this.send({ type: MessageType.UnregisterFunction, id }, true);
      },
    };
  }

  /**
   * Calls a function through the engine and resolves with its result. Rejects with an
   * {@link InvocationError}: the function's own error, `function_not_found`, `invocation_stopped`
   * (its worker went away) or `TIMEOUT`. With `action: TriggerAction.Void()` it resolves at once.
   *
   * The type parameters are in the order of the official `iii-sdk`: the payload's type, then the
   * result's, e.g. `trigger<{ name: string }, { message: string }>(...)`.
   */
  trigger<TInput = unknown, TOutput = unknown>(request: TriggerRequest<TInput>): Promise<TOutput> {
    const { function_id, payload, action, metadata } = request;
    if (action?.type === 'void') {
      this.send({ type: MessageType.InvokeFunction, function_id, data: payload, action, metadata });
      return Promise.resolve(undefined as TOutput);
    }
    if (this.state === 'failed' || this.shuttingDown) return Promise.reject(this.unavailableError());
    const invocation_id = randomUUID();
    const timeoutMs = request.timeoutMs ?? this.invocationTimeoutMs;
    return new Promise<TOutput>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.invocations.delete(invocation_id)) return;
        reject(
          new InvocationError({
            code: 'TIMEOUT',
            message: `invocation timed out after ${timeoutMs}ms`,
            function_id,
          }),
        );
      }, timeoutMs);
      this.invocations.set(invocation_id, {
        resolve: resolve as (value: unknown) => void,
        reject,
        functionId: function_id,
        timer,
      });
      const frame: InvokeFunctionFrame = {
        type: MessageType.InvokeFunction,
        invocation_id,
        function_id,
        data: payload as JsonValue,
        action,
        metadata,
      };
      this.send(frame as unknown as OutgoingFrame);
    });
  }

  /**
   * Binds `function_id` to a trigger of type `type` with its `config`; the engine hands it to the worker
   * that provides the type, now or when one registers.
   */
  registerTrigger(trigger: { type: string; function_id: string; config: JsonValue; metadata?: JsonValue }): {
    id: string;
    unregister(): void;
  } {
    const id = randomUUID();
    const frame: RegisterTriggerFrame = {
      type: MessageType.RegisterTrigger,
      id,
      trigger_type: trigger.type,
      function_id: trigger.function_id,
      config: trigger.config,
      metadata: trigger.metadata,
    };
    this.triggers.set(id, frame);
    this.send(frame, true);
    return {
      id,
      unregister: () => {
        if (!this.triggers.delete(id)) return;
        this.send({ type: MessageType.UnregisterTrigger, id, trigger_type: trigger.type });
      },
    };
  }

  /** Provides a trigger type: the engine delivers every trigger of this type to `handler`. */
  registerTriggerType(
    triggerType: TriggerTypeOptions,
    handler: TriggerHandler,
  ): {
    id: string;
    registerTrigger(
      functionId: string,
      config: JsonValue,
      metadata?: JsonValue,
    ): { id: string; unregister(): void };
    unregister(): void;
  } {
    const frame: RegisterTriggerTypeFrame = { type: MessageType.RegisterTriggerType, ...triggerType };
    this.triggerTypes.set(triggerType.id, { frame, handler });
    this.send(frame, true);
    return {
      id: triggerType.id,
      registerTrigger: (function_id, config, metadata) =>
        this.registerTrigger({ type: triggerType.id, function_id, config, metadata }),
      unregister: () => {
        if (!this.triggerTypes.delete(triggerType.id)) return;
        this.send({ type: MessageType.UnregisterTriggerType, id: triggerType.id }, true);
      },
    };
  }

  /**
   * Stops reconnecting, rejects waiting calls and closes the socket after the frames already sent
   * (log lines, results) have gone out.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.clearTimers();
    for (const [id, pending] of this.invocations) {
      clearTimeout(pending.timer);
      this.invocations.delete(id);
      pending.reject(
        new EngineConnectionError('CLIENT_SHUT_DOWN', 'iii is shutting down', 'The client was shut down.'),
      );
    }
    const ws = this.ws;
    this.ws = undefined;
    this.tcp = undefined;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        await new Promise<void>((resolve) => {
          const done = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 2000);
          ws.once('close', () => {
            clearTimeout(done);
            resolve();
          });
          if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
          else ws.close(1000);
        });
      }
    }
    this.setState('disconnected');
  }

  private connect(): void {
    if (this.shuttingDown) return;
    this.setState(this.reconnectAttempt === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(this.address, { headers: this.headers, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
    this.ws = ws;
    this.tcp = undefined;
    ws.once('upgrade', (response) => {
      if (this.ws === ws) this.tcp = response.socket;
    });
    ws.on('open', () => this.onOpen(ws));
    ws.on('close', () => this.onClose(ws));
    // Errors are followed by 'close', which schedules the reconnect; nothing else to do here.
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      this.idleTimer?.refresh();
      if (!isBinary) this.onMessage(data.toString());
    });
    ws.on('ping', () => this.idleTimer?.refresh());
    ws.on('pong', () => this.idleTimer?.refresh());
  }

  private onOpen(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.clearReconnectTimer();
    this.reconnectAttempt = 0;
    this.setState('connected');
    this.startHeartbeat(ws);
    // Replay in the official SDK's order, so the engine sees the same sequence from either SDK.
    if (this.id && this.reattachToken) {
      this.write({
        type: MessageType.Reattach,
        previous_worker_id: this.id,
        reattach_token: this.reattachToken,
      });
    }
    for (const { frame } of this.triggerTypes.values()) this.write(frame);
    for (const { frame } of this.functions.values()) this.write(frame);
    for (const frame of this.triggers.values()) this.write(frame);
    const queued = this.queue;
    this.queue = [];
    for (const frame of queued) {
      // A call that timed out while we were away is not worth sending.
      const id = frame.type === MessageType.InvokeFunction ? frame.invocation_id : undefined;
      if (typeof id === 'string' && !this.invocations.has(id)) continue;
      this.write(frame);
    }
    if (this.announce) this.announceWorker();
  }

  private announceWorker(): void {
    void this.trigger({
      function_id: EngineFunctions.RegisterWorker,
      payload: {
        runtime: 'node',
        version: SDK_VERSION,
        name: this.workerName,
        description: this.workerDescription,
        os: `${platform()} ${release()} (${arch()})`,
        pid: process.pid,
        isolation: process.env.III_ISOLATION || null,
        telemetry: { language: 'typescript', framework: '@iii/sdk' },
      },
      action: { type: 'void' },
    });
  }

  private onClose(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.stopHeartbeat();
    ws.removeAllListeners();
    ws.on('error', () => {});
    this.ws = undefined;
    this.tcp = undefined;
    if (this.shuttingDown) return;
    this.setState('disconnected');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const { maxRetries } = this.reconnection;
    if (maxRetries !== -1 && this.reconnectAttempt >= maxRetries) {
      this.setState('failed');
      this.failPending();
      return;
    }
    if (this.reconnectTimer) return;
    const delay = reconnectDelayMs(this.reconnectAttempt, this.reconnection);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.reconnectAttempt++;
      this.connect();
    }, delay);
  }

  private unavailableError(): EngineConnectionError {
    return this.shuttingDown
      ? new EngineConnectionError('CLIENT_SHUT_DOWN', 'iii is shutting down', 'The client was shut down.')
      : new EngineConnectionError(
          'ENGINE_UNREACHABLE',
          `Cannot reach the iii engine at ${this.address}`,
          'Start the engine with `iii` (or `iii start`), or point III_URL at a running one.',
        );
  }

  /** Once we stop retrying, nothing queued can ever be delivered: fail it now instead of at timeout. */
  private failPending(): void {
    this.queue = [];
    for (const [id, pending] of this.invocations) {
      clearTimeout(pending.timer);
      this.invocations.delete(id);
      pending.reject(this.unavailableError());
    }
  }

  private onMessage(text: string): void {
    const frame = parseFrame(text);
    if (!frame) return;
    switch (frame.type) {
      case MessageType.InvocationResult: {
        const pending = this.invocations.get(frame.invocation_id);
        if (!pending) return;
        this.invocations.delete(frame.invocation_id);
        clearTimeout(pending.timer);
        if (frame.error !== undefined && frame.error !== null) {
          const err = frame.error as unknown;
          pending.reject(
            isErrorBody(err)
              ? new InvocationError({ ...err, function_id: pending.functionId })
              : new InvocationError({
                  code: 'UNKNOWN',
                  message: typeof err === 'string' ? err : JSON.stringify(err),
                  function_id: pending.functionId,
                }),
          );
        } else {
          pending.resolve(frame.result);
        }
        return;
      }
      case MessageType.InvokeFunction:
        void this.onInvoke(frame);
        return;
      case MessageType.RegisterTrigger:
        void this.onRegisterTrigger(frame);
        return;
      case MessageType.UnregisterTrigger:
        void this.onUnregisterTrigger(frame as typeof frame & Partial<TriggerConfig>);
        return;
      case MessageType.WorkerRegistered:
        this.id = frame.worker_id;
        this.reattachToken = frame.reattach_token;
        return;
      case MessageType.Ping:
        this.write({ type: MessageType.Pong });
        return;
      case MessageType.RegistrationRejected:
        // As the official SDKs do: one refused function is a warning, the worker keeps serving the rest
        // (and the engine hands it the function if its current server leaves).
        console.warn(
          `[iii] registration of function "${frame.function_id ?? ''}" refused (${frame.code}): another worker already serves it${frame.owner_worker_id ? ` (${frame.owner_worker_id})` : ''}`,
        );
        return;
      default:
        return;
    }
  }

  private async onInvoke(frame: InvokeFunctionFrame): Promise<void> {
    const { invocation_id, function_id } = frame;
    const fn = this.functions.get(function_id);
    if (!fn?.handler) {
      if (!invocation_id) return;
      this.send({
        type: MessageType.InvocationResult,
        invocation_id,
        function_id,
        error: fn
          ? {
              code: 'function_not_invokable',
              message: 'Function is HTTP-invoked and cannot be invoked locally',
            }
          : { code: 'function_not_found', message: 'Function not found' },
      });
      return;
    }
    try {
      const result = await fn.handler(frame.data, frame.metadata);
      if (invocation_id) {
        this.send({ type: MessageType.InvocationResult, invocation_id, function_id, result });
      }
    } catch (error) {
      if (!invocation_id) return;
      const isError = error instanceof Error;
      this.send({
        type: MessageType.InvocationResult,
        invocation_id,
        function_id,
        error: {
          code: 'invocation_failed',
          message: isError ? error.message : String(error),
          stacktrace: isError ? error.stack : undefined,
        },
      });
    }
  }

  private async onRegisterTrigger(frame: RegisterTriggerFrame): Promise<void> {
    const { id, trigger_type, function_id, config, metadata } = frame;
    const provider = this.triggerTypes.get(trigger_type);
    const reply = (error?: { code: string; message: string }) =>
      this.send({ type: MessageType.TriggerRegistrationResult, id, trigger_type, function_id, error });
    if (!provider) {
      reply({ code: 'trigger_type_not_found', message: 'Trigger type not found' });
      return;
    }
    try {
      await provider.handler.registerTrigger({ id, function_id, config, metadata });
      reply();
    } catch (error) {
      reply({ code: 'trigger_registration_failed', message: (error as Error).message ?? String(error) });
    }
  }

  private async onUnregisterTrigger(frame: { id: string; trigger_type?: string } & Partial<TriggerConfig>) {
    if (!frame.trigger_type) return;
    const provider = this.triggerTypes.get(frame.trigger_type);
    if (!provider) return;
    try {
      await provider.handler.unregisterTrigger({
        id: frame.id,
        function_id: frame.function_id ?? '',
        config: frame.config ?? null,
        metadata: frame.metadata,
      });
    } catch {
      // The provider's own cleanup failed; the engine has already forgotten the trigger.
    }
  }

  /**
   * Sends now if connected. Otherwise registrations (`replayed`) are dropped, since the replay after the
   * next connect sends them, and everything else is queued in order.
   */
  private send(frame: object, replayed = false): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.write(frame);
    else if (!replayed && !this.shuttingDown) this.queue.push(frame as OutgoingFrame);
  }

  private write(frame: object): void {
    const ws = this.ws;
    if (!ws) return;
    // Frames written in the same tick leave in one TCP write (many calls or results at once under load).
    const tcp = this.tcp;
    if (tcp && !this.corked) {
      this.corked = true;
      tcp.cork();
      process.nextTick(() => {
        this.corked = false;
        tcp.uncork();
      });
    }
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      // The socket closed under us; 'close' follows and the reconnect replays what matters.
    }
  }

  private startHeartbeat(ws: WebSocket): void {
    this.stopHeartbeat();
    this.idleTimer = setTimeout(() => ws.terminate(), IDLE_TIMEOUT_MS);
    this.pingTimer = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, PING_INTERVAL_MS);
  }

  private stopHeartbeat(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.idleTimer);
    this.pingTimer = undefined;
    this.idleTimer = undefined;
  }

  private clearReconnectTimer(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private clearTimers(): void {
    this.clearReconnectTimer();
    this.stopHeartbeat();
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}
