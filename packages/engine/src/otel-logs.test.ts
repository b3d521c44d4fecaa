import { describe, expect, it } from 'vitest';
import { parseOtelLogs } from './otel-logs.js';

describe('parseOtelLogs', () => {
  it('reads service name, level, body, trace id and log.data of OTLP JSON log records', () => {
    const body = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'resize' } }] },
          scopeLogs: [
            {
              logRecords: [
                {
                  severityNumber: 13,
                  body: { stringValue: 'slow disk' },
                  traceId: 'abc',
                  attributes: [
                    {
                      key: 'log.data',
                      value: {
                        kvlistValue: {
                          values: [
                            { key: 'ms', value: { intValue: '120' } },
                            { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }] } } },
                          ],
                        },
                      },
                    },
                  ],
                },
                { severityNumber: 17, body: { stringValue: 'failed' } },
                { severityText: 'DEBUG', body: { stringValue: 'detail' } },
              ],
            },
          ],
        },
      ],
    };
    expect(parseOtelLogs(JSON.stringify(body))).toEqual([
      {
        serviceName: 'resize',
        traceId: 'abc',
        level: 'warn',
        message: 'slow disk',
        data: { ms: 120, tags: ['a'] },
      },
      { serviceName: 'resize', traceId: undefined, level: 'error', message: 'failed', data: undefined },
      { serviceName: 'resize', traceId: undefined, level: 'debug', message: 'detail', data: undefined },
    ]);
  });

  it('returns nothing for malformed input instead of throwing', () => {
    expect(parseOtelLogs('{not json')).toEqual([]);
    expect(parseOtelLogs('{"resourceLogs": 5}')).toEqual([]);
    expect(parseOtelLogs('{"resourceLogs": [null, {"scopeLogs": [{"logRecords": [null]}]}]}')).toEqual([]);
  });
});
