import { randomUUID } from 'node:crypto';
import {
  type ErrorBody,
  type InvocationResultFrame,
  type InvokeFunctionFrame,
  type JsonValue,
  MessageType,
  parseFrame,
  type RegisterFunctionFrame,
  type RegisterTriggerFrame,
  type RegisterTriggerTypeFrame,
} from '@iii/sdk';
import { type BuiltinDefinition, BuiltinError } from './builtin.js';
import { FunctionRegistry, type Handover } from './function-registry.js';
import { invokeOverHttp } from './http-invoke.js';
import { isOwner } from './peer.js';
import type { WorkerConnection } from './worker-connection.js';

/** A function the router can reach: on a worker socket, over HTTP, or built into the engine. */
export interface FunctionEntry {
  id: string;
  owner: WorkerConnection | undefined;
  frame: RegisterFunctionFrame | undefined;
  builtin: BuiltinDefinition | undefined;
  /** Live connections that registered the same id later and take over, in order, if the owner leaves. */
  standby: WorkerConnection[];
}

interface PendingInvocation {
  caller: WorkerConnection;
  callerInvocationId: string;
  owner: WorkerConnection;
  functionId: string;
}

interface TriggerEntry {
  registrar: WorkerConnection;
  frame: RegisterTriggerFrame;
}

const RESULT_PREFIX = '{"type":"invocationresult","invocation_id":"';
const STOPPED: ErrorBody = { code: 'invocation_stopped', message: 'Invocation stopped' };
const TRACE_MEMORY = 10_000;
/** Code of the reference engine for a function id that another live worker already serves. */
export const FUNCTION_CONFLICT = 'FUNCTION_NAMESPACE_CONFLICT';

/**
 * Routes frames between connections: function registry (first live registrant serves, see
 * {@link FunctionRegistry}), invocations and their results, fire-and-forget calls, trigger
 * registrations, reattach. Knows nothing about sockets beyond {@link WorkerConnection.send}.
 */
export class Router {
  readonly connections = new Map<string, WorkerConnection>();
  private readonly functions = new FunctionRegistry();
  private readonly builtins = new Map<string, BuiltinDefinition>();
  private readonly invocations = new Map<string, PendingInvocation>();
  private readonly triggerTypes = new Map<
    string,
    { provider: WorkerConnection; frame: RegisterTriggerTypeFrame }
  >();
  private readonly triggers = new Map<string, TriggerEntry>();
  /** Recent trace ids and the worker that served them, to attribute `/otel` log records. */
  private readonly traceOwners = new Map<string, string>();
  private readonly drainWaiters = new Set<() => void>();
  private readonly debug: (message: string) => void;
  private readonly warn: (message: string) => void;
  /** Lines about connections that have not said their name yet; written once they do, or leave. */
  private readonly untold = new Map<WorkerConnection, Array<() => string>>();

  /**
   * `warn` gets what the engine's owner should hear about, one line each: refused management calls,
   * function registrations refused because another live worker serves the id, and handovers.
   */
  constructor(debug: (message: string) => void, warn: (message: string) => void = () => {}) {
    this.debug = debug;
    this.warn = warn;
  }

  /** Whether `conn` may call or see the function (owner-only built-ins need the owner). */
  mayUse(conn: WorkerConnection | undefined, fn: FunctionEntry): boolean {
    return fn.builtin?.ownerOnly !== true || (conn !== undefined && isOwner(conn.peer));
  }

  addBuiltin(id: string, definition: BuiltinDefinition): void {
    this.builtins.set(id, definition);
  }

  attach(conn: WorkerConnection): void {
    this.connections.set(conn.id, conn);
    conn.send(
      JSON.stringify({
        type: MessageType.WorkerRegistered,
        worker_id: conn.id,
        reattach_token: conn.reattachToken,
      }),
    );
  }

  /** Every function the engine can route, builtins first. */
  listFunctions(): FunctionEntry[] {
    const out: FunctionEntry[] = [];
    for (const [id, builtin] of this.builtins) {
      out.push({ id, owner: undefined, frame: undefined, builtin, standby: [] });
    }
    for (const [id, { conn, frame }] of this.functions) {
      out.push({ id, owner: conn, frame, builtin: undefined, standby: this.functions.standby(id) });
    }
    return out;
  }

  getFunction(id: string): FunctionEntry | undefined {
    const builtin = this.builtins.get(id);
    if (builtin) return { id, owner: undefined, frame: undefined, builtin, standby: [] };
    const fn = this.functions.get(id);
    return fn
      ? { id, owner: fn.conn, frame: fn.frame, builtin: undefined, standby: this.functions.standby(id) }
      : undefined;
  }

  /**
   * The connection said its name (`engine::workers::register`): lines about it that waited for the
   * name are written now. The SDKs register their functions before they say their name.
   */
  announced(conn: WorkerConnection): void {
    const lines = this.untold.get(conn);
    if (!lines) return;
    this.untold.delete(conn);
    for (const line of lines) this.warn(line());
  }

  /** Writes a line about `conn` now, or once it has a name to be called by. */
  private tell(conn: WorkerConnection, line: () => string): void {
    if (conn.metadata) {
      this.warn(line());
      return;
    }
    const lines = this.untold.get(conn) ?? [];
    lines.push(line);
    this.untold.set(conn, lines);
  }

  /** Invocations in flight whose function lives on `conn`. */
  activeInvocations(conn: WorkerConnection): number {
    let n = 0;
    for (const inv of this.invocations.values()) if (inv.owner === conn) n++;
    return n;
  }

  get inFlight(): number {
    return this.invocations.size;
  }

  /** Resolves once no invocation is in flight. */
  drained(): Promise<void> {
    if (this.invocations.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.add(resolve));
  }

  /** The worker that served the trace, if it was routed recently. */
  workerForTrace(traceId: string): string | undefined {
    return this.traceOwners.get(traceId);
  }

  handleText(conn: WorkerConnection, text: string): void {
    // Results are relayed unchanged, so the id is all the engine needs: both SDKs put it first, and
    // skipping the parse keeps large results cheap. Anything unusual takes the full path below.
    if (text.startsWith(RESULT_PREFIX)) {
      const end = text.indexOf('"', RESULT_PREFIX.length);
      const id = text.slice(RESULT_PREFIX.length, end);
      if (end > 0 && !id.includes('\\') && this.relayResult(conn, id, text)) return;
    }
    const frame = parseFrame(text);
    if (!frame) {
      this.debug(`ignored a malformed frame from ${conn.id}`);
      return;
    }
    switch (frame.type) {
      case MessageType.InvokeFunction:
        this.onInvoke(conn, frame);
        return;
      case MessageType.InvocationResult:
        this.onResult(conn, frame, text);
        return;
      case MessageType.RegisterFunction:
        this.onRegisterFunction(conn, frame);
        return;
      case MessageType.UnregisterFunction: {
        if (typeof frame.id !== 'string') return;
        const handover = this.functions.unregister(conn, frame.id);
        if (handover) this.tellHandover(handover, 'unregistered it');
        return;
      }
      case MessageType.RegisterTriggerType:
        this.onRegisterTriggerType(conn, frame);
        return;
      case MessageType.UnregisterTriggerType:
        if (typeof frame.id === 'string' && this.triggerTypes.get(frame.id)?.provider === conn) {
          this.triggerTypes.delete(frame.id);
        }
        return;
      case MessageType.RegisterTrigger:
        this.onRegisterTrigger(conn, frame);
        return;
      case MessageType.UnregisterTrigger:
        this.onUnregisterTrigger(conn, frame.id);
        return;
      case MessageType.TriggerRegistrationResult: {
        // The provider's answer goes back to whoever registered the trigger.
        const entry = typeof frame.id === 'string' ? this.triggers.get(frame.id) : undefined;
        if (entry) entry.registrar.send(text);
        return;
      }
      case MessageType.Reattach:
        this.onReattach(conn, frame.previous_worker_id, frame.reattach_token);
        return;
      case MessageType.Ping:
        conn.send(JSON.stringify({ type: MessageType.Pong }));
        return;
      default:
        this.debug(`ignored a frame of unknown type ${JSON.stringify(frame.type)} from ${conn.id}`);
    }
  }

  private onRegisterFunction(conn: WorkerConnection, frame: RegisterFunctionFrame): void {
    if (typeof frame.id !== 'string' || frame.id === '') return;
    const id = frame.id;
    if (this.builtins.has(id)) {
      this.reject(conn, id, '');
      this.tell(
        conn,
        () => `function "${id}" is built into the engine; refused it from worker "${conn.name}"`,
      );
      return;
    }
    const outcome = this.functions.register(conn, frame);
    if (outcome.kind === 'serving') return;
    const server = outcome.server;
    this.reject(conn, id, server.id);
    this.tell(
      conn,
      () =>
        `function "${id}" is already served by worker "${server.name}"; refused it from worker "${conn.name}" (it takes over if "${server.name}" leaves)`,
    );
  }

  /** Tells a worker that one function was not registered, as the reference engine does; it stays connected. */
  private reject(conn: WorkerConnection, functionId: string, ownerId: string): void {
    conn.send(
      JSON.stringify({
        type: MessageType.RegistrationRejected,
        code: FUNCTION_CONFLICT,
        namespace: 'default',
        function_id: functionId,
        owner_worker_id: ownerId,
      }),
    );
  }

  private tellHandover(h: Handover, why: string): void {
    const to = h.to;
    if (!to) return;
    const from = h.from.name;
    this.tell(to, () => `function "${h.id}": worker "${from}" ${why}; worker "${to.name}" serves it now`);
  }

  private onInvoke(caller: WorkerConnection, frame: InvokeFunctionFrame): void {
    const functionId = frame.function_id;
    if (typeof functionId !== 'string') return;
    const requestId = typeof frame.invocation_id === 'string' ? frame.invocation_id : undefined;
    const isVoid = frame.action?.type === 'void' || requestId === undefined;
    const replyTo = isVoid ? undefined : requestId;
    const data = frame.data;
    if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
      (data as Record<string, JsonValue>)._caller_worker_id = caller.id;
    }

    const builtin = this.builtins.get(functionId);
    if (builtin?.ownerOnly && !isOwner(caller.peer)) {
      this.refuse(caller, functionId, replyTo);
      return;
    }
    if (builtin) {
      void this.runBuiltin(caller, functionId, builtin, data, replyTo);
      return;
    }
    const fn = this.functions.get(functionId);
    if (!fn) {
      this.debug(`function ${functionId} not found (called by ${caller.id})`);
      if (replyTo) {
        this.reply(caller, replyTo, functionId, {
          code: 'function_not_found',
          message: `Function ${functionId} not found`,
        });
      }
      return;
    }
    if (frame.action?.type === 'enqueue') {
      if (replyTo) {
        this.reply(caller, replyTo, functionId, {
          code: 'enqueue_error',
          message: `No queue provider for queue ${frame.action.queue}`,
        });
      }
      return;
    }
    if (fn.frame.invocation) {
      void this.runHttp(caller, fn.frame, data, replyTo);
      return;
    }
    const owner = fn.conn;
    if (typeof frame.traceparent === 'string') this.rememberTrace(frame.traceparent, owner.name);
    if (!replyTo) {
      // Fire-and-forget: the worker runs it and answers nobody.
      const { invocation_id: _, ...rest } = frame;
      owner.send(JSON.stringify(rest));
      return;
    }
    let forwardId = replyTo;
    if (this.invocations.has(forwardId)) forwardId = randomUUID();
    this.invocations.set(forwardId, { caller, callerInvocationId: replyTo, owner, functionId });
    owner.send(JSON.stringify(forwardId === replyTo ? frame : { ...frame, invocation_id: forwardId }));
  }

  /**
   * Answers a management call from someone who is not the owner with `forbidden`, and does nothing
   * else. Logged once per connection and function, without the payload (it may name secrets).
   */
  private refuse(caller: WorkerConnection, functionId: string, replyTo: string | undefined): void {
    const why =
      caller.peer.access === 'wrong-token'
        ? 'the token it presented is not this engine’s'
        : 'it presented no management token';
    if (!caller.refused.has(functionId)) {
      caller.refused.add(functionId);
      const who = caller.metadata ? `worker "${caller.metadata.name}" (${caller.id})` : `client ${caller.id}`;
      this.warn(`refused ${functionId} to ${who} from ${caller.peer.address}: ${why}`);
    }
    if (replyTo) {
      this.reply(caller, replyTo, functionId, {
        code: 'forbidden',
        message: `${functionId} is for the owner of this engine only, and ${why}`,
      });
    }
  }

  /** Relays a result frame as-is when its id needs no rewriting; false means "parse it instead". */
  private relayResult(from: WorkerConnection, id: string, text: string): boolean {
    const pending = this.invocations.get(id);
    if (!pending || pending.owner !== from) return true;
    if (pending.callerInvocationId !== id) return false;
    this.finish(id);
    pending.caller.send(text);
    return true;
  }

  private onResult(from: WorkerConnection, frame: InvocationResultFrame, text: string): void {
    const id = frame.invocation_id;
    if (typeof id !== 'string') return;
    const pending = this.invocations.get(id);
    // Only the worker we forwarded to may answer; anything else is stale or foreign.
    if (!pending || pending.owner !== from) return;
    this.finish(id);
    if (!pending.caller.open) return;
    if (pending.callerInvocationId === id) pending.caller.send(text);
    else pending.caller.send(JSON.stringify({ ...frame, invocation_id: pending.callerInvocationId }));
  }

  private finish(id: string): void {
    this.invocations.delete(id);
    if (this.invocations.size === 0 && this.drainWaiters.size > 0) {
      for (const resolve of this.drainWaiters) resolve();
      this.drainWaiters.clear();
    }
  }

  private async runBuiltin(
    caller: WorkerConnection,
    functionId: string,
    builtin: BuiltinDefinition,
    data: unknown,
    replyTo: string | undefined,
  ): Promise<void> {
    try {
      const result = await builtin.handler(data, { caller, callerWorkerId: caller.id });
      if (replyTo) {
        caller.send(
          JSON.stringify({
            type: MessageType.InvocationResult,
            invocation_id: replyTo,
            function_id: functionId,
            result,
          }),
        );
      }
    } catch (error) {
      const err = error as { code?: unknown; message?: unknown };
      const body: ErrorBody =
        error instanceof BuiltinError || typeof err.code === 'string'
          ? { code: String(err.code), message: String(err.message ?? error) }
          : { code: 'invocation_failed', message: String(err.message ?? error) };
      if (replyTo) this.reply(caller, replyTo, functionId, body);
      else this.debug(`built-in ${functionId} failed: ${body.message}`);
    }
  }

  private async runHttp(
    caller: WorkerConnection,
    frame: RegisterFunctionFrame,
    data: unknown,
    replyTo: string | undefined,
  ): Promise<void> {
    const outcome = await invokeOverHttp(frame.invocation!, data);
    if (!replyTo) return;
    if ('error' in outcome) this.reply(caller, replyTo, frame.id, outcome.error);
    else {
      caller.send(
        JSON.stringify({
          type: MessageType.InvocationResult,
          invocation_id: replyTo,
          function_id: frame.id,
          result: outcome.result,
        }),
      );
    }
  }

  private reply(to: WorkerConnection, invocationId: string, functionId: string, error: ErrorBody): void {
    to.send(
      JSON.stringify({
        type: MessageType.InvocationResult,
        invocation_id: invocationId,
        function_id: functionId,
        error,
      }),
    );
  }

  private rememberTrace(traceparent: string, workerName: string): void {
    const traceId = traceparent.split('-')[1];
    if (!traceId) return;
    this.traceOwners.set(traceId, workerName);
    if (this.traceOwners.size > TRACE_MEMORY) {
      const oldest = this.traceOwners.keys().next().value;
      if (oldest !== undefined) this.traceOwners.delete(oldest);
    }
  }

  private onRegisterTriggerType(conn: WorkerConnection, frame: RegisterTriggerTypeFrame): void {
    if (typeof frame.id !== 'string' || frame.id === '') return;
    this.triggerTypes.set(frame.id, { provider: conn, frame });
    // Triggers registered before anyone provided this type are delivered now.
    for (const entry of this.triggers.values()) {
      if (entry.frame.trigger_type === frame.id) conn.send(JSON.stringify(this.deliverable(entry.frame)));
    }
  }

  private onRegisterTrigger(conn: WorkerConnection, frame: RegisterTriggerFrame): void {
    if (typeof frame.id !== 'string' || typeof frame.trigger_type !== 'string') return;
    this.triggers.set(frame.id, { registrar: conn, frame });
    const type = this.triggerTypes.get(frame.trigger_type);
    if (type) type.provider.send(JSON.stringify(this.deliverable(frame)));
    else this.debug(`trigger ${frame.id} waits for a provider of ${frame.trigger_type}`);
  }

  private deliverable(frame: RegisterTriggerFrame): RegisterTriggerFrame {
    const { id, trigger_type, function_id, config, metadata } = frame;
    return { type: MessageType.RegisterTrigger, id, trigger_type, function_id, config, metadata };
  }

  private onUnregisterTrigger(conn: WorkerConnection, id: unknown): void {
    if (typeof id !== 'string') return;
    const entry = this.triggers.get(id);
    if (!entry || entry.registrar !== conn) return;
    this.triggers.delete(id);
    this.notifyUnregister(entry);
  }

  private notifyUnregister(entry: TriggerEntry): void {
    const type = this.triggerTypes.get(entry.frame.trigger_type);
    if (!type?.provider.open) return;
    const { id, trigger_type, function_id, config, metadata } = entry.frame;
    type.provider.send(
      JSON.stringify({
        type: MessageType.UnregisterTrigger,
        id,
        trigger_type,
        function_id,
        config,
        metadata,
      }),
    );
  }

  /**
   * A reconnected worker proves it is the same one: the old connection (if the engine has not noticed it
   * is dead yet) is retired and its in-flight work moves to the new one, whose replay re-registers.
   */
  private onReattach(conn: WorkerConnection, previousId: unknown, token: unknown): void {
    if (typeof previousId !== 'string' || typeof token !== 'string') return;
    const old = this.connections.get(previousId);
    if (!old || old === conn || old.reattachToken !== token) return;
    old.retired = true;
    for (const inv of this.invocations.values()) {
      if (inv.owner === old) inv.owner = conn;
      if (inv.caller === old) inv.caller = conn;
    }
    for (const entry of this.triggers.values()) if (entry.registrar === old) entry.registrar = conn;
    // Its functions stay its own: the replay that follows re-registers them without a conflict.
    this.functions.transfer(old, conn);
    const untold = this.untold.get(old);
    if (untold) {
      this.untold.delete(old);
      this.untold.set(conn, [...(this.untold.get(conn) ?? []), ...untold]);
    }
    this.detach(old);
    old.close();
  }

  /** Answers every call still in flight with `invocation_stopped` (the engine is going away). */
  stopAll(): void {
    for (const [id, inv] of this.invocations) {
      this.finish(id);
      this.reply(inv.caller, inv.callerInvocationId, inv.functionId, STOPPED);
    }
  }

  /** Forgets a closed connection: its functions and trigger types go, its callers' invocations stop. */
  detach(conn: WorkerConnection): void {
    if (!this.connections.delete(conn.id)) return;
    for (const handover of this.functions.removeConnection(conn)) this.tellHandover(handover, 'left');
    conn.functionIds.clear();
    // Lines waiting for a name it never said are written with its connection id.
    this.announced(conn);
    for (const [id, inv] of this.invocations) {
      if (inv.owner === conn) {
        this.finish(id);
        this.reply(inv.caller, inv.callerInvocationId, inv.functionId, STOPPED);
      } else if (inv.caller === conn) {
        // Nobody is left to receive the result; drop it when it comes.
        this.finish(id);
      }
    }
    for (const [id, type] of this.triggerTypes) if (type.provider === conn) this.triggerTypes.delete(id);
    for (const [id, entry] of this.triggers) {
      if (entry.registrar !== conn) continue;
      this.triggers.delete(id);
      this.notifyUnregister(entry);
    }
  }
}
