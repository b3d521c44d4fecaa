import { describe, expect, it } from 'vitest';
import { execProcess } from './exec.js';
import type { OciProcess } from './runtime-spec.js';

const base = {
  terminal: false,
  args: ['/app/worker'],
  env: ['PATH=/bin', 'GREETING=hi'],
  cwd: '/app',
  user: { uid: 1000, gid: 1000 },
  capabilities: { bounding: ['CAP_KILL'], effective: [], permitted: [] },
} as unknown as OciProcess;

describe('execProcess', () => {
  it('gives a terminal a TERM, as docker exec -t does, unless the worker or the request has one', () => {
    expect(execProcess(base, { args: ['sh'], tty: true }).env).toEqual([
      'PATH=/bin',
      'GREETING=hi',
      'TERM=xterm',
    ]);
    expect(execProcess(base, { args: ['sh'], tty: true, env: { TERM: 'screen' } }).env).toContain(
      'TERM=screen',
    );
    expect(
      execProcess({ ...base, env: [...base.env, 'TERM=vt100'] }, { args: ['sh'], tty: true }).env,
    ).toEqual(['PATH=/bin', 'GREETING=hi', 'TERM=vt100']);
    // Without a terminal nothing is added: output to pipes stays free of terminal codes.
    expect(execProcess(base, { args: ['env'] }).env).toEqual(['PATH=/bin', 'GREETING=hi']);
  });
});
