import { describe, expect, it } from 'vitest';
import { formatColumns } from './columns.js';

describe('formatColumns', () => {
  it('pads every column but the last to its widest cell, three spaces apart, no trailing blanks', () => {
    expect(
      formatColumns(
        ['NAME', 'IMAGE', 'STATUS'],
        [
          ['a', 'docker.io/library/alpine:3.20', 'running'],
          ['longer-name', 'x', ''],
        ],
      ),
    ).toEqual([
      'NAME          IMAGE                           STATUS',
      'a             docker.io/library/alpine:3.20   running',
      'longer-name   x',
    ]);
  });
});
