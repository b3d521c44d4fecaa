import type { JsonValue } from '@iii/sdk';
import * as z from 'zod';
import { type BuiltinDefinition, BuiltinError } from '../builtin.js';
import type { FunctionEntry, Router } from '../router.js';

const listSchema = z
  .looseObject({
    prefix: z.string().nullish(),
    worker: z.string().nullish(),
    include_internal: z.boolean().nullish(),
  })
  .nullish();

const infoSchema = z.looseObject({ function_id: z.string() });

/** One row of `engine::functions::list`. */
export interface FunctionListEntry {
  function_id: string;
  worker_name: string;
  worker_id?: string;
  /** Workers that registered the id too and were refused; the first takes over if the server leaves. */
  standby?: Array<{ worker_name: string; worker_id: string }>;
  description?: string;
  metadata?: Record<string, JsonValue>;
}

function toEntry(fn: FunctionEntry): FunctionListEntry {
  const description = fn.builtin?.description ?? fn.frame?.description;
  const metadata = fn.builtin?.metadata ?? fn.frame?.metadata;
  return {
    function_id: fn.id,
    worker_name: fn.owner ? fn.owner.name : 'engine',
    ...(fn.owner ? { worker_id: fn.owner.id } : {}),
    ...(fn.standby.length > 0
      ? { standby: fn.standby.map((c) => ({ worker_name: c.name, worker_id: c.id })) }
      : {}),
    ...(description !== undefined ? { description } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
  };
}

function isInternal(fn: FunctionEntry): boolean {
  const metadata = fn.builtin?.metadata ?? fn.frame?.metadata;
  return fn.id.startsWith('engine::') || metadata?.internal === true;
}

export function functionBuiltins(router: Router): Record<string, BuiltinDefinition> {
  return {
    'engine::functions::list': {
      description: 'Lists functions, optionally by id prefix or worker (name or id).',
      handler: (data, { caller }) => {
        const parsed = listSchema.safeParse(data);
        const query = parsed.success ? (parsed.data ?? {}) : {};
        const functions = router
          .listFunctions()
          // Management functions do not exist for whoever may not call them.
          .filter((fn) => router.mayUse(caller, fn))
          .filter((fn) => query.include_internal === true || !isInternal(fn))
          .filter((fn) => !query.prefix || fn.id.startsWith(query.prefix))
          .filter(
            (fn) =>
              !query.worker ||
              (fn.owner
                ? fn.owner.name === query.worker || fn.owner.id === query.worker
                : query.worker === 'engine'),
          )
          .map(toEntry)
          .sort((a, b) => a.function_id.localeCompare(b.function_id));
        return { functions };
      },
    },
    'engine::functions::info': {
      description: 'Describes one function: its worker, description, metadata and formats.',
      handler: (data, { caller }) => {
        const parsed = infoSchema.safeParse(data);
        if (!parsed.success) throw new BuiltinError('invalid_request', 'function_id is required');
        const fn = router.getFunction(parsed.data.function_id);
        if (!fn || !router.mayUse(caller, fn)) {
          throw new BuiltinError('function_not_found', `Function ${parsed.data.function_id} not found`);
        }
        return {
          ...toEntry(fn),
          request_format: fn.frame?.request_format ?? null,
          response_format: fn.frame?.response_format ?? null,
          http: fn.frame?.invocation
            ? { url: fn.frame.invocation.url, method: fn.frame.invocation.method }
            : null,
        };
      },
    },
  };
}
