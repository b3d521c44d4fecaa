import * as z from 'zod';
import type { BuiltinDefinition } from '../builtin.js';
import type { Router } from '../router.js';

const registerSchema = z.looseObject({
  name: z.string().min(1),
  description: z.string().nullish(),
  runtime: z.string().nullish(),
  version: z.string().nullish(),
  os: z.string().nullish(),
  pid: z.number().nullish(),
  isolation: z.string().nullish(),
  telemetry: z.unknown().optional(),
});

/** One row of `engine::workers::list`. */
export interface WorkerListEntry {
  id: string;
  name: string;
  description: string | null;
  version: string | null;
  runtime: string | null;
  os: string | null;
  pid: number | null;
  status: 'connected';
  function_count: number;
  functions: string[];
  connected_at_ms: number;
  active_invocations: number;
  isolation: string | null;
  ip_address: string;
}

/** Workers that announced themselves; bare callers (like the CLI) stay hidden. */
export function listWorkers(router: Router): WorkerListEntry[] {
  const out: WorkerListEntry[] = [];
  for (const conn of router.connections.values()) {
    const m = conn.metadata;
    if (!m) continue;
    out.push({
      id: conn.id,
      name: m.name,
      description: m.description ?? null,
      version: m.version ?? null,
      runtime: m.runtime ?? null,
      os: m.os ?? null,
      pid: m.pid ?? null,
      status: 'connected',
      function_count: conn.functionIds.size,
      functions: [...conn.functionIds].sort(),
      connected_at_ms: conn.connectedAtMs,
      active_invocations: router.activeInvocations(conn),
      isolation: m.isolation ?? null,
      ip_address: conn.ipAddress,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function workerBuiltins(router: Router): Record<string, BuiltinDefinition> {
  return {
    'engine::workers::register': {
      description: 'Records what a worker says about itself (name, runtime, version) for worker lists.',
      handler: (data, { caller }) => {
        const parsed = registerSchema.safeParse(data);
        if (!caller || !parsed.success) return null;
        const { name, description, runtime, version, os, pid, isolation, telemetry } = parsed.data;
        caller.metadata = {
          name,
          description: description ?? undefined,
          runtime: runtime ?? undefined,
          version: version ?? undefined,
          os: os ?? undefined,
          pid: pid ?? undefined,
          isolation: isolation ?? null,
          telemetry,
        };
        router.announced(caller);
        return null;
      },
    },
    'engine::workers::list': {
      description: 'Lists connected workers with their function counts and in-flight invocations.',
      handler: () => ({ workers: listWorkers(router) }),
    },
  };
}
