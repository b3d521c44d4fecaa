import { Errors } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import { renderError } from './render-error.js';

function parseError(message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Errors.CLIError(`${message}\nSee more help with --help`, { exit: 2 }), extra);
}

describe('renderError', () => {
  it('keeps the whole reason of a usage error and shows the usage line', () => {
    const r = renderError(parseError('Parsing --tail \n\tExpected an integer but received: abc'), {
      debug: false,
      usage: 'iii worker logs NAME [-n <value>]',
    });
    expect(r.exitCode).toBe(2);
    expect(r.text).toBe(
      'Error: invalid value for --tail: Expected an integer but received: abc\nUsage: iii worker logs NAME [-n <value>]\n',
    );
  });

  it('names missing arguments', () => {
    const err = parseError('Missing 1 required arg:\nimage  Image to add', { args: [{ name: 'image' }] });
    expect(renderError(err, { debug: false }).message).toBe('missing required argument IMAGE');
  });

  it('drops the header of failed flag validations', () => {
    const err = parseError('The following errors occurred:\n  Missing required flag lang\n  Bad --name');
    expect(renderError(err, { debug: false }).message).toBe('Missing required flag lang; Bad --name');
  });

  it('shows only the first line of other errors', () => {
    const r = renderError(Object.assign(new Error('it broke\nat depth'), { hint: 'Try again.' }), {
      debug: false,
    });
    expect(r.text).toBe('Error: it broke\nTry again.\n');
  });
});
