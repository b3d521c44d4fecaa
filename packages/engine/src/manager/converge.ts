import { isDeepStrictEqual } from 'node:util';
import type { WorkerPlan } from './worker-plan.js';

/**
 * What one worker needs so that what runs matches config.yaml and iii.lock. Only a worker whose
 * planned run spec changed is touched; `changes` says what changed, for the line `iii` prints.
 */
export type WorkerChange =
  | { kind: 'start'; name: string }
  | { kind: 'stop'; name: string; reason: string }
  | { kind: 'restart'; name: string; changes: string[] }
  /** Only limits the runtime can change on a running sandbox changed (memory, cpus). */
  | { kind: 'update'; name: string; changes: string[] };

/** One worker of config.yaml as it should be. */
export interface DesiredWorker {
  name: string;
  /** `enabled: false` in config.yaml. */
  disabled?: boolean;
  /** The planned run spec; absent when it could not be planned (the worker is skipped). */
  plan?: WorkerPlan;
}

/** One worker as it is in the running `iii`. */
export interface CurrentWorker {
  name: string;
  /** It runs, starts or waits to restart: it has a sandbox. */
  active: boolean;
  /** Stopped with `iii worker stop`: stays stopped until `iii worker start`. */
  held?: boolean;
  /** The spec it runs with (active), or last tried to run with. */
  plan?: WorkerPlan;
  /** The last attempt to start it failed (it was skipped). */
  failed?: boolean;
}

/**
 * How a running worker's planned spec differs from the new one, in words: `config: FOO changed`,
 * `image sha256:0123… -> sha256:4567…`, `memory 256Mi -> 128Mi`. Values of `config:` are never named
 * (they may be secrets), only their keys. `resourcesOnly` is true when nothing but memory and cpus
 * changed, which the runtime can apply to the running sandbox.
 */
export function describePlanChange(
  before: WorkerPlan,
  after: WorkerPlan,
): { changes: string[]; resourcesOnly: boolean } {
  const changes: string[] = [];
  let other = false;
  if (before.digest !== after.digest) {
    changes.push(`image ${shortDigest(before.digest)} -> ${shortDigest(after.digest)}`);
    other = true;
  }
  const keys = [...new Set([...Object.keys(before.config), ...Object.keys(after.config)])].sort();
  const changed = keys.filter((k) => before.config[k] !== after.config[k]);
  if (changed.length > 0) {
    const what = changed.map((k) =>
      !(k in before.config) ? `${k} added` : !(k in after.config) ? `${k} removed` : `${k} changed`,
    );
    changes.push(`config: ${what.join(', ')}`);
    other = true;
  }
  if (before.restart !== after.restart) {
    changes.push(`restart ${before.restart} -> ${after.restart}`);
    other = true;
  }
  if (before.network !== after.network) {
    changes.push(`network ${before.network} -> ${after.network}`);
    other = true;
  }
  if (before.init !== after.init) {
    changes.push(`init ${before.init} -> ${after.init}`);
    other = true;
  }
  if (before.resources.memory !== after.resources.memory) {
    changes.push(
      `memory ${formatMemory(before.resources.memory)} -> ${formatMemory(after.resources.memory)}`,
    );
  }
  if (before.resources.cpus !== after.resources.cpus) {
    changes.push(`cpus ${before.resources.cpus ?? 'unlimited'} -> ${after.resources.cpus ?? 'unlimited'}`);
  }
  return { changes, resourcesOnly: !other && changes.length > 0 };
}

/**
 * The changes that bring the running workers to config.yaml, in config.yaml order, then the workers
 * to stop. A worker whose spec is unchanged is left alone (same process, same connection); one
 * stopped with `iii worker stop` stays stopped; one that ended under its restart policy is started
 * again only when its spec changed; one that could not start is tried again.
 */
export function convergeChanges(
  desired: readonly DesiredWorker[],
  current: readonly CurrentWorker[],
): WorkerChange[] {
  const now = new Map(current.map((c) => [c.name, c]));
  const wanted = new Set(desired.map((d) => d.name));
  const out: WorkerChange[] = [];
  for (const d of desired) {
    const c = now.get(d.name);
    if (d.disabled) {
      if (c?.active) out.push({ kind: 'stop', name: d.name, reason: 'enabled: false in config.yaml' });
      continue;
    }
    if (!d.plan) continue;
    if (!c || (!c.active && !c.held && (!c.plan || c.failed))) {
      out.push({ kind: 'start', name: d.name });
      continue;
    }
    if (c.held || !c.plan) continue;
    if (sameSpec(c.plan, d.plan)) continue;
    if (!c.active) {
      // Ended under its policy (or crashed out): a new spec is a reason to try again.
      out.push({ kind: 'start', name: d.name });
      continue;
    }
    const { changes, resourcesOnly } = describePlanChange(c.plan, d.plan);
    out.push({ kind: resourcesOnly ? 'update' : 'restart', name: d.name, changes });
  }
  for (const c of current) {
    if (!wanted.has(c.name) && c.active)
      out.push({ kind: 'stop', name: c.name, reason: 'removed from config.yaml' });
  }
  return out;
}

/** Whether two plans run a worker the same way (image, environment, limits, policy, network, init). */
export function sameSpec(a: WorkerPlan, b: WorkerPlan): boolean {
  return isDeepStrictEqual(comparable(a), comparable(b));
}

/** What decides how a worker runs: its image, environment (after interpolation), limits, policy, network, init. */
function comparable(plan: WorkerPlan) {
  return {
    digest: plan.digest,
    config: plan.config,
    resources: { cpus: plan.resources.cpus, memory: plan.resources.memory },
    restart: plan.restart,
    network: plan.network,
    init: plan.init,
  };
}

/** `256Mi`, `1Gi`, `1536Ki`: as config.yaml spells limits; `unlimited` without one. */
export function formatMemory(bytes: number | undefined): string {
  if (bytes === undefined) return 'unlimited';
  for (const [unit, size] of [
    ['Gi', 1024 ** 3],
    ['Mi', 1024 ** 2],
    ['Ki', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}`;
}

function shortDigest(digest: string): string {
  return `${digest.slice(0, 19)}…`;
}
