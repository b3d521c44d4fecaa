import { describe, expect, it } from 'vitest';
import { suggestCommand } from './command-suggestion.js';

const IDS = [
  'worker',
  'worker:add',
  'worker:list',
  'worker:ls',
  'worker:logs',
  'worker:remove',
  'init',
  'start',
];

describe('suggestCommand', () => {
  it('corrects the command word and keeps arguments with colons as typed', () => {
    expect(suggestCommand(['worker', 'ad', '127.0.0.1:5055/bars/busybox:1'], IDS)).toEqual({
      kind: 'unknown',
      topic: ['worker'],
      unknown: 'ad',
      suggestion: ['worker', 'add', '127.0.0.1:5055/bars/busybox:1'],
    });
  });

  it('corrects a topic, then the command under it', () => {
    expect(suggestCommand(['wroker', 'lsit', '--json'], IDS)).toMatchObject({
      unknown: 'wroker',
      suggestion: ['worker', 'list', '--json'],
    });
  });

  it('keeps a right command word after a corrected topic', () => {
    expect(suggestCommand(['wroker', 'ls'], IDS)).toMatchObject({ suggestion: ['worker', 'ls'] });
  });

  it('suggests nothing for a word near no command', () => {
    expect(suggestCommand(['worker', 'deploy-everything'], IDS)).toEqual({
      kind: 'unknown',
      topic: ['worker'],
      unknown: 'deploy-everything',
    });
  });

  it('reports arguments after a command that takes none', () => {
    expect(suggestCommand(['worker', 'list', 'extra'], IDS)).toEqual({
      kind: 'extra-arguments',
      command: ['worker', 'list'],
      args: ['extra'],
    });
  });
});
