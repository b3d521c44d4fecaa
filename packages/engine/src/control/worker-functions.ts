import * as z from 'zod';
import { type BuiltinDefinition, BuiltinError } from '../builtin.js';
import type { WorkerController } from './worker-controller.js';

/** Ids of the management built-ins the CLI calls. */
export const WorkerFunctions = {
  list: 'iii::workers::list',
  start: 'iii::workers::start',
  stop: 'iii::workers::stop',
  restart: 'iii::workers::restart',
  inspect: 'iii::workers::inspect',
  reload: 'iii::workers::reload',
} as const;

const nameInput = z.object({ name: z.string().min(1) });
const inspectInput = nameInput.extend({ reveal: z.boolean().optional() });
const stopInput = nameInput.extend({ timeoutMs: z.number().int().nonnegative().optional() });
const reloadInput = z.object({ only: z.array(z.string().min(1)).optional() });

function parse<T>(schema: z.ZodType<T>, data: unknown): T {
  const r = schema.safeParse(data ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new BuiltinError(
      'invalid_input',
      `${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return r.data;
}

/** Errors with a `code` keep it; the engine turns them into `{code, message}` for the caller. */
async function answer<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') throw new BuiltinError(code, (err as Error).message);
    throw err;
  }
}

/**
 * The `iii::workers::list|start|stop|restart|inspect` built-ins over a worker controller. They are
 * internal (`metadata.internal`), so function lists hide them like the engine's own, and owner-only:
 * they reveal workers' environments and change their state.
 */
export function workerFunctions(controller: WorkerController): Record<string, BuiltinDefinition> {
  const metadata = { internal: true };
  const fns: Record<string, Omit<BuiltinDefinition, 'ownerOnly'>> = {
    [WorkerFunctions.list]: {
      description: 'The workers of config.yaml with their run-time state.',
      metadata,
      handler: () => answer(async () => ({ workers: await controller.list() })),
    },
    [WorkerFunctions.inspect]: {
      description:
        'Everything known about one worker, run-time state included; `reveal` shows interpolated values.',
      metadata,
      handler: (data) =>
        answer(async () => {
          const input = parse(inspectInput, data);
          return { worker: await controller.inspect(input.name, { reveal: input.reveal === true }) };
        }),
    },
    [WorkerFunctions.start]: {
      description: 'Starts a worker of config.yaml (from the cached image; nothing is pulled).',
      metadata,
      handler: (data) => answer(() => controller.start(parse(nameInput, data).name)),
    },
    [WorkerFunctions.stop]: {
      description: 'Stops a worker (SIGTERM, then SIGKILL after timeoutMs); it stays stopped until started.',
      metadata,
      handler: (data) =>
        answer(async () => {
          const input = parse(stopInput, data);
          return { worker: await controller.stop(input.name, { timeoutMs: input.timeoutMs }) };
        }),
    },
    [WorkerFunctions.reload]: {
      description:
        'Applies config.yaml and iii.lock to the running workers: starts, stops, restarts or updates in place only those whose spec changed.',
      metadata,
      handler: (data) =>
        answer(async () => {
          const input = parse(reloadInput, data);
          return controller.reload(input.only ? { only: input.only } : {});
        }),
    },
    [WorkerFunctions.restart]: {
      description: 'Stops and starts a worker again.',
      metadata,
      handler: (data) =>
        answer(async () => {
          const input = parse(stopInput, data);
          return { worker: await controller.restart(input.name, { timeoutMs: input.timeoutMs }) };
        }),
    },
  };
  return Object.fromEntries(Object.entries(fns).map(([id, def]) => [id, { ...def, ownerOnly: true }]));
}
