import { describe, expect, it } from 'vitest';
import { ExecStartError, ExecStderrGate, parseExecStartFailure } from './exec-start-failure.js';

describe('parseExecStartFailure', () => {
  it("reads runc's logged line for a command not on PATH", () => {
    const line =
      'time="2026-12-04T14:50:51Z" level=error msg="exec failed: unable to start container process: exec: \\"nosuch\\": executable file not found in $PATH"';
    expect(parseExecStartFailure(line)).toEqual({
      kind: 'not-found',
      message: 'exec: "nosuch": executable file not found in $PATH',
    });
  });

  it('reads the bare form, an absolute path and a file that is not executable', () => {
    expect(
      parseExecStartFailure(
        'exec failed: unable to start container process: exec: "/x": stat /x: no such file or directory',
      )?.kind,
    ).toBe('not-found');
    expect(
      parseExecStartFailure(
        'exec failed: unable to start container process: exec: "/etc/hosts": permission denied',
      )?.kind,
    ).toBe('not-executable');
    expect(
      parseExecStartFailure('crun: executable file `nosuch` not found in $PATH: No such file or directory')
        ?.kind,
    ).toBe('not-found');
  });

  it('does not mistake a missing working directory for a missing command', () => {
    const r = parseExecStartFailure(
      'exec failed: unable to start container process: chdir to cwd ("/nope") set in config.json failed: no such file or directory',
    );
    expect(r?.kind).toBe('other');
  });

  it("ignores a command's own output", () => {
    expect(parseExecStartFailure('grep: no such file or directory')).toBeUndefined();
    expect(parseExecStartFailure('exec failed')).toBeUndefined();
  });
});

describe('ExecStartError', () => {
  it('says the command is not in the PATH and exits 127', () => {
    const e = new ExecStartError('nosuch', 'not-found', 'x');
    expect(e.message).toBe(`executable "nosuch" not found in the worker's PATH`);
    expect(e.exitStatus).toBe(127);
    expect(new ExecStartError('/bin/x', 'not-executable', 'x').exitStatus).toBe(126);
  });
});

describe('ExecStderrGate', () => {
  const gate = () => {
    const out: string[] = [];
    return { g: new ExecStderrGate((c) => out.push(c.toString())), text: () => out.join('') };
  };

  it('holds back the runtime start failure and passes nothing on', () => {
    const { g, text } = gate();
    g.push(Buffer.from('time="t" level=error msg="exec failed: unable to start container process: '));
    g.push(Buffer.from('exec: \\"x\\": executable file not found in $PATH"\n'));
    g.end();
    expect(text()).toBe('');
    expect(g.failure?.kind).toBe('not-found');
  });

  it("passes the command's stderr on unchanged, including a partial last line", () => {
    const { g, text } = gate();
    g.push(Buffer.from('tim'));
    expect(text()).toBe('');
    g.push(Buffer.from('eout reached\nmore\n'));
    g.push(Buffer.from('prompt> '));
    g.end();
    expect(text()).toBe('timeout reached\nmore\nprompt> ');
    expect(g.failure).toBeUndefined();
  });

  it('opens at once for text that cannot be a runtime line', () => {
    const { g, text } = gate();
    g.push(Buffer.from('warning: '));
    expect(text()).toBe('warning: ');
  });
});
