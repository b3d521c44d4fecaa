import type { registerWorker as registerOfficialWorker } from 'iii-sdk';
import { describe, expectTypeOf, it } from 'vitest';
import type { WorkerClient } from './worker-client.js';

type OfficialWorker = ReturnType<typeof registerOfficialWorker>;

// Checked by the type checker (`npm run typecheck`): code ported from iii-sdk keeps its types.
describe('trigger type parameters', () => {
  it('take the payload type first and the result type second, as iii-sdk does', () => {
    const ours = (c: WorkerClient) =>
      c.trigger<{ name: string }, { message: string }>({
        function_id: 'greeter::hello',
        payload: { name: 'Ada' },
      });
    const official = (c: OfficialWorker) =>
      c.trigger<{ name: string }, { message: string }>({
        function_id: 'greeter::hello',
        payload: { name: 'Ada' },
      });
    expectTypeOf(ours).returns.toEqualTypeOf<Promise<{ message: string }>>();
    expectTypeOf(official).returns.toEqualTypeOf<ReturnType<typeof ours>>();
    const wrong = (c: WorkerClient) =>
      c.trigger<{ name: string }, { message: string }>({
        function_id: 'x',
        // @ts-expect-error the payload must have the first type parameter's shape
        payload: { message: 'hi' },
      });
    expectTypeOf(wrong).toBeFunction();
  });
});
