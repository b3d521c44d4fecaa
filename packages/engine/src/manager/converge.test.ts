import { describe, expect, it } from 'vitest';
import { convergeChanges, describePlanChange, formatMemory } from './converge.js';
import type { WorkerPlan } from './worker-plan.js';

const MiB = 1024 * 1024;

function plan(name: string, over: Partial<WorkerPlan> = {}): WorkerPlan {
  return {
    name,
    image: `example/${name}:1`,
    digest: `sha256:${'a'.repeat(64)}`,
    platform: 'linux/amd64',
    config: { FOO: '1' },
    written: {},
    substituted: [],
    resources: { memory: 256 * MiB },
    restart: 'on-failure',
    network: 'host',
    init: true,
    ...over,
  };
}

describe('convergeChanges', () => {
  it('leaves workers whose spec did not change alone', () => {
    const desired = ['a', 'b', 'c'].map((n) => ({ name: n, plan: plan(n) }));
    const current = ['a', 'b', 'c'].map((n) => ({ name: n, active: true, plan: plan(n) }));
    expect(convergeChanges(desired, current)).toEqual([]);
  });

  it('starts new workers, stops removed ones and restarts only the changed one', () => {
    const desired = [
      { name: 'a', plan: plan('a') },
      { name: 'b', plan: plan('b', { config: { FOO: '2' } }) },
      { name: 'd', plan: plan('d') },
    ];
    const current = ['a', 'b', 'c'].map((n) => ({ name: n, active: true, plan: plan(n) }));
    expect(convergeChanges(desired, current)).toEqual([
      { kind: 'restart', name: 'b', changes: ['config: FOO changed'] },
      { kind: 'start', name: 'd' },
      { kind: 'stop', name: 'c', reason: 'removed from config.yaml' },
    ]);
  });

  it('updates limits in place when only memory or cpus changed', () => {
    const desired = [{ name: 'a', plan: plan('a', { resources: { memory: 128 * MiB, cpus: 0.5 } }) }];
    const current = [{ name: 'a', active: true, plan: plan('a') }];
    expect(convergeChanges(desired, current)).toEqual([
      { kind: 'update', name: 'a', changes: ['memory 256Mi -> 128Mi', 'cpus unlimited -> 0.5'] },
    ]);
  });

  it('restarts when limits change together with something else', () => {
    const desired = [{ name: 'a', plan: plan('a', { resources: {}, restart: 'always' }) }];
    const current = [{ name: 'a', active: true, plan: plan('a') }];
    expect(convergeChanges(desired, current)).toEqual([
      { kind: 'restart', name: 'a', changes: ['restart on-failure -> always', 'memory 256Mi -> unlimited'] },
    ]);
  });

  it('keeps a worker stopped with `iii worker stop` stopped, even when its spec changed', () => {
    const desired = [{ name: 'a', plan: plan('a', { config: { FOO: '9' } }) }];
    expect(convergeChanges(desired, [{ name: 'a', active: false, held: true, plan: plan('a') }])).toEqual([]);
  });

  it('stops a worker set to enabled: false and does not start a disabled one', () => {
    const current = [{ name: 'a', active: true, plan: plan('a') }];
    expect(
      convergeChanges(
        [
          { name: 'a', disabled: true },
          { name: 'b', disabled: true },
        ],
        current,
      ),
    ).toEqual([{ kind: 'stop', name: 'a', reason: 'enabled: false in config.yaml' }]);
  });

  it('retries a worker that could not start, and one that exited only when its spec changed', () => {
    const desired = [
      { name: 'a', plan: plan('a') },
      { name: 'b', plan: plan('b') },
      { name: 'c', plan: plan('c', { digest: `sha256:${'b'.repeat(64)}` }) },
    ];
    const current = [
      { name: 'a', active: false, failed: true, plan: plan('a') },
      { name: 'b', active: false, plan: plan('b') },
      { name: 'c', active: false, plan: plan('c') },
    ];
    expect(convergeChanges(desired, current)).toEqual([
      { kind: 'start', name: 'a' },
      { kind: 'start', name: 'c' },
    ]);
  });

  it('skips a worker that could not be planned', () => {
    expect(convergeChanges([{ name: 'a' }], [{ name: 'a', active: true, plan: plan('a') }])).toEqual([]);
  });
});

describe('describePlanChange', () => {
  it('names keys, never values, and says when only limits changed', () => {
    const before = plan('a', { config: { A: 'secret', B: '1' } });
    const after = plan('a', {
      config: { B: '1', C: 'x' },
      digest: `sha256:${'c'.repeat(64)}`,
      network: 'none',
    });
    const { changes, resourcesOnly } = describePlanChange(before, after);
    expect(changes).toEqual([
      `image sha256:${'a'.repeat(12)}… -> sha256:${'c'.repeat(12)}…`,
      'config: A removed, C added',
      'network host -> none',
    ]);
    expect(changes.join(' ')).not.toContain('secret');
    expect(resourcesOnly).toBe(false);
  });

  it('restarts a worker whose init: changed (it decides what PID 1 of the sandbox is)', () => {
    const change = describePlanChange(plan('a'), plan('a', { init: false }));
    expect(change).toEqual({ changes: ['init true -> false'], resourcesOnly: false });
    const [restart] = convergeChanges(
      [{ name: 'a', plan: plan('a', { init: false }) }],
      [{ name: 'a', active: true, plan: plan('a') }],
    );
    expect(restart).toMatchObject({ kind: 'restart', name: 'a' });
  });

  it('spells memory as config.yaml does', () => {
    expect(formatMemory(256 * MiB)).toBe('256Mi');
    expect(formatMemory(2 * 1024 * MiB)).toBe('2Gi');
    expect(formatMemory(1000)).toBe('1000');
    expect(formatMemory(undefined)).toBe('unlimited');
  });
});
