import type { WorkerLogLevel } from './log-sink.js';

/** One OTLP log record, reduced to what a worker log needs. */
export interface OtelLogRecord {
  serviceName: string | undefined;
  traceId: string | undefined;
  level: WorkerLogLevel;
  message: string;
  data: unknown;
}

type AnyValue = Record<string, unknown>;

/** OTLP JSON `AnyValue` to a plain JS value. */
function fromAnyValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const v = value as AnyValue;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('bytesValue' in v) return v.bytesValue;
  if ('arrayValue' in v) {
    const values = (v.arrayValue as { values?: unknown[] } | undefined)?.values ?? [];
    return values.map(fromAnyValue);
  }
  if ('kvlistValue' in v) return fromKeyValues((v.kvlistValue as { values?: unknown[] } | undefined)?.values);
  return undefined;
}

function fromKeyValues(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list) {
    if (typeof kv === 'object' && kv !== null && typeof (kv as { key?: unknown }).key === 'string') {
      out[(kv as { key: string }).key] = fromAnyValue((kv as { value?: unknown }).value);
    }
  }
  return out;
}

/** OTel severity numbers: 1-8 trace/debug, 9-12 info, 13-16 warn, 17+ error/fatal. */
function levelOf(severityNumber: unknown, severityText: unknown): WorkerLogLevel {
  const n = typeof severityNumber === 'number' ? severityNumber : Number.NaN;
  if (n >= 17) return 'error';
  if (n >= 13) return 'warn';
  if (n >= 9) return 'info';
  if (n >= 1) return 'debug';
  const text = typeof severityText === 'string' ? severityText.toLowerCase() : '';
  if (text.startsWith('err') || text.startsWith('fatal')) return 'error';
  if (text.startsWith('warn')) return 'warn';
  if (text.startsWith('debug') || text.startsWith('trace')) return 'debug';
  return 'info';
}

/**
 * Reads the log records of an OTLP JSON `ExportLogsServiceRequest` (the body of a `LOGS` frame).
 * Tolerant: anything unexpected is skipped, never thrown, since telemetry must not hurt the engine.
 */
export function parseOtelLogs(json: string): OtelLogRecord[] {
  let body: unknown;
  try {
    body = JSON.parse(json);
  } catch {
    return [];
  }
  const records: OtelLogRecord[] = [];
  const resourceLogs = (body as { resourceLogs?: unknown })?.resourceLogs;
  if (!Array.isArray(resourceLogs)) return records;
  for (const rl of resourceLogs) {
    const resource = fromKeyValues(rl?.resource?.attributes);
    const serviceName = typeof resource['service.name'] === 'string' ? resource['service.name'] : undefined;
    const scopeLogs = Array.isArray(rl?.scopeLogs) ? rl.scopeLogs : [];
    for (const sl of scopeLogs) {
      const logRecords = Array.isArray(sl?.logRecords) ? sl.logRecords : [];
      for (const rec of logRecords) {
        if (typeof rec !== 'object' || rec === null) continue;
        const attributes = fromKeyValues(rec.attributes);
        const body = fromAnyValue(rec.body);
        records.push({
          serviceName,
          traceId: typeof rec.traceId === 'string' && rec.traceId !== '' ? rec.traceId : undefined,
          level: levelOf(rec.severityNumber, rec.severityText),
          message: typeof body === 'string' ? body : JSON.stringify(body ?? ''),
          data: attributes['log.data'],
        });
      }
    }
  }
  return records;
}
