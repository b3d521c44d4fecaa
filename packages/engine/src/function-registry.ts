import type { RegisterFunctionFrame } from '@iii/sdk';
import type { WorkerConnection } from './worker-connection.js';

/** One connection's registration of a function id. */
export interface FunctionRegistration {
  conn: WorkerConnection;
  frame: RegisterFunctionFrame;
}

/** What became of a registration: served now, or refused because another live worker serves the id. */
export type RegisterOutcome = { kind: 'serving' } | { kind: 'refused'; server: WorkerConnection };

/** A function whose server left or withdrew it: `to` serves it now (undefined: nobody, it is gone). */
export interface Handover {
  id: string;
  from: WorkerConnection;
  to: WorkerConnection | undefined;
}

interface Entry {
  server: FunctionRegistration;
  /** Live connections that registered the id after the server, in the order they did. */
  standby: FunctionRegistration[];
}

/**
 * Which connection serves each function id. The first live registrant serves it, as in the reference
 * iii engine; a later registration of the same id by another connection is refused, and remembered:
 * when the server leaves or unregisters, the longest-waiting live registrant takes over, so a function
 * that a live worker registered is never lost. Keeps each connection's `functionIds` (what it serves).
 */
export class FunctionRegistry {
  private readonly entries = new Map<string, Entry>();

  register(conn: WorkerConnection, frame: RegisterFunctionFrame): RegisterOutcome {
    const entry = this.entries.get(frame.id);
    if (!entry) {
      this.entries.set(frame.id, { server: { conn, frame }, standby: [] });
      conn.functionIds.add(frame.id);
      return { kind: 'serving' };
    }
    if (entry.server.conn === conn) {
      // Re-registering its own function (a replay, or new metadata) is an update, not a conflict.
      entry.server.frame = frame;
      return { kind: 'serving' };
    }
    const waiting = entry.standby.find((r) => r.conn === conn);
    if (waiting) waiting.frame = frame;
    else entry.standby.push({ conn, frame });
    return { kind: 'refused', server: entry.server.conn };
  }

  /** `conn` withdraws `id`: if it served it, the next in line takes over. */
  unregister(conn: WorkerConnection, id: string): Handover | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.server.conn !== conn) {
      entry.standby = entry.standby.filter((r) => r.conn !== conn);
      return undefined;
    }
    return this.handOver(id, entry);
  }

  /** Forgets a connection that left; returns what became of each function it served. */
  removeConnection(conn: WorkerConnection): Handover[] {
    const out: Handover[] = [];
    for (const [id, entry] of this.entries) {
      entry.standby = entry.standby.filter((r) => r.conn !== conn);
      if (entry.server.conn === conn) out.push(this.handOver(id, entry));
    }
    return out;
  }

  /**
   * A reconnected worker proved it is `from` (reattach): it keeps serving what `from` served and keeps
   * its places in line, so the replay of its registrations that follows is no conflict.
   */
  transfer(from: WorkerConnection, to: WorkerConnection): void {
    for (const [id, entry] of this.entries) {
      if (entry.server.conn === from) {
        entry.server.conn = to;
        from.functionIds.delete(id);
        to.functionIds.add(id);
      }
      for (const r of entry.standby) if (r.conn === from) r.conn = to;
      entry.standby = entry.standby.filter(
        (r, i) => r.conn !== entry.server.conn && entry.standby.findIndex((o) => o.conn === r.conn) === i,
      );
    }
  }

  /** The registration that serves `id`. */
  get(id: string): FunctionRegistration | undefined {
    return this.entries.get(id)?.server;
  }

  /** Connections waiting to serve `id`, in the order they would take over. */
  standby(id: string): WorkerConnection[] {
    return this.entries.get(id)?.standby.map((r) => r.conn) ?? [];
  }

  *[Symbol.iterator](): IterableIterator<[string, FunctionRegistration]> {
    for (const [id, entry] of this.entries) yield [id, entry.server];
  }

  private handOver(id: string, entry: Entry): Handover {
    const from = entry.server.conn;
    from.functionIds.delete(id);
    const next = entry.standby.shift();
    if (!next) {
      this.entries.delete(id);
      return { id, from, to: undefined };
    }
    entry.server = next;
    next.conn.functionIds.add(id);
    return { id, from, to: next.conn };
  }
}
