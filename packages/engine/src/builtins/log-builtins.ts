import * as z from 'zod';
import type { BuiltinDefinition } from '../builtin.js';
import type { LogSink, WorkerLogLevel } from '../log-sink.js';

const logSchema = z.looseObject({
  message: z.unknown(),
  data: z.unknown().optional(),
  worker_name: z.string().optional(),
});

const LEVELS: WorkerLogLevel[] = ['info', 'warn', 'error', 'debug'];

/** `engine::log::<level>`: a worker's log line, written to that worker's log through the sink. */
export function logBuiltins(sink: LogSink): Record<string, BuiltinDefinition> {
  const entries = LEVELS.map((level): [string, BuiltinDefinition] => [
    `engine::log::${level}`,
    {
      description: `Writes a ${level} line to the calling worker's log.`,
      handler: (data, { caller }) => {
        const parsed = logSchema.safeParse(data);
        if (!parsed.success) return null;
        const { message, data: extra, worker_name } = parsed.data;
        const name = caller?.metadata?.name ?? worker_name ?? caller?.id ?? 'unknown';
        const text = typeof message === 'string' ? message : JSON.stringify(message);
        // The connection goes along: the sink decides whose log it is from who holds it.
        sink(name, level, text, extra, caller);
        return null;
      },
    },
  ]);
  return Object.fromEntries(entries);
}
