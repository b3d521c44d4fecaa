import { describe, expect, it } from 'vitest';
import { InvocationError, isErrorBody } from './invocation-error.js';

describe('InvocationError', () => {
  it('reads "<code>: <message>" and keeps code, function id and stacktrace', () => {
    const err = new InvocationError({
      code: 'invocation_failed',
      message: 'boom',
      function_id: 'a::b',
      stacktrace: 's',
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe('invocation_failed: boom');
    expect(err).toMatchObject({
      name: 'InvocationError',
      code: 'invocation_failed',
      function_id: 'a::b',
      stacktrace: 's',
    });
  });

  it('recognises wire error bodies only', () => {
    expect(isErrorBody({ code: 'x', message: 'y' })).toBe(true);
    expect(isErrorBody({ code: 'x' })).toBe(false);
    expect(isErrorBody('x')).toBe(false);
  });
});
