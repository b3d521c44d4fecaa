import { describe, expect, it } from 'vitest';
import { splitCommand } from './exec-argv.js';

describe('splitCommand', () => {
  it('takes everything after the worker name as the command, as docker exec does', () => {
    expect(splitCommand(['-it', 'w', 'ls', '-la'])).toEqual({
      own: ['-i', '-t', 'w'],
      command: ['ls', '-la'],
    });
    expect(splitCommand(['w', 'sh', '-c', 'a -- b'])).toEqual({
      own: ['w'],
      command: ['sh', '-c', 'a -- b'],
    });
  });

  it('keeps exec flags between the name and a --, and the values of flags', () => {
    expect(splitCommand(['w', '-e', 'A=1', '-w', '/app', '--', 'node', 'x.js'])).toEqual({
      own: ['w', '-e', 'A=1', '-w', '/app'],
      command: ['node', 'x.js'],
    });
    expect(splitCommand(['--timeout', '5s', 'w', 'sleep', '1'])).toEqual({
      own: ['--timeout', '5s', 'w'],
      command: ['sleep', '1'],
    });
  });

  it('leaves a line with -- before any name, or combined flags it does not know, to the parser', () => {
    expect(splitCommand(['--', 'w', 'sh'])).toEqual({ own: ['--', 'w', 'sh'] });
    expect(splitCommand(['-ix', 'w', 'sh']).own).toEqual(['-ix', 'w']);
    expect(splitCommand(['w'])).toEqual({ own: ['w'], command: [] });
  });
});
