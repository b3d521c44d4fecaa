// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${VAR} placeholders.
import { describe, expect, it } from 'vitest';
import { InterpolationError } from './errors.js';
import { escapeInterpolation, interpolate, interpolationParts } from './interpolate.js';

const ctx = (env: Record<string, string>) => ({ worker: 'w', key: 'K', env });

describe('interpolate', () => {
  it('substitutes set variables', () => {
    expect(interpolate('${A}-${B}', ctx({ A: 'x', B: 'y' }))).toBe('x-y');
  });

  it('uses the default only when the variable is unset', () => {
    expect(interpolate('${A:fallback}', ctx({}))).toBe('fallback');
    expect(interpolate('${A:fallback}', ctx({ A: '' }))).toBe('');
    expect(interpolate('${A:}', ctx({}))).toBe('');
    expect(interpolate('${A:http://h:1/x}', ctx({}))).toBe('http://h:1/x');
  });

  it('keeps $${...} as a literal ${...}', () => {
    expect(interpolate('$${A} and $${B:x}', ctx({ A: 'no' }))).toBe('${A} and ${B:x}');
  });

  it('reads $$ as one literal $ wherever it stands, as Compose does', () => {
    expect(interpolate('5$$ and $$HOME and a$$$$b', ctx({ HOME: 'no' }))).toBe('5$ and $HOME and a$$b');
    expect(interpolate('$$$${A}', ctx({ A: 'no' }))).toBe('$${A}');
    // An escaped dollar followed by a real placeholder: the placeholder still substitutes.
    expect(interpolate('$$${A}', ctx({ A: 'x' }))).toBe('$x');
    expect(interpolate('${A:cost$$5}', ctx({}))).toBe('cost$5');
  });

  it('leaves text without placeholders alone', () => {
    expect(interpolate('$A $ {A} $', ctx({ A: 'x' }))).toBe('$A $ {A} $');
  });

  it('names worker, key and variable when a variable is unset', () => {
    try {
      interpolate('${MISSING}', { worker: 'resize', key: 'API_KEY', env: {} });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InterpolationError);
      const e = err as InterpolationError;
      expect([e.worker, e.key, e.variable]).toEqual(['resize', 'API_KEY', 'MISSING']);
      expect(e.message).toContain('resize');
      expect(e.message).toContain('API_KEY');
      expect(e.message).toContain('MISSING');
    }
  });
});

describe('escapeInterpolation', () => {
  it('gives text that interpolates back to exactly the value, whatever the environment holds', () => {
    const env = { HOME: '/root', SECRET: 'k', A: 'x' };
    for (const value of [
      '${HOME}x${SECRET}',
      '$${A}',
      '$$',
      '$',
      'a$b$',
      '${A:default}',
      '$$$${SECRET}',
      'no dollars',
      '',
      '${UNSET}',
    ]) {
      expect(interpolate(escapeInterpolation(value), ctx(env))).toBe(value);
    }
  });

  it('doubles every $ and nothing else', () => {
    expect(escapeInterpolation('${HOME}x$')).toBe('$${HOME}x$$');
    expect(escapeInterpolation('plain')).toBe('plain');
  });
});

describe('interpolationParts', () => {
  it('splits a value the way interpolate reads it', () => {
    expect(interpolationParts('postgres://app:${S}@db/x')).toEqual([
      { text: 'postgres://app:' },
      { variable: 'S' },
      { text: '@db/x' },
    ]);
    expect(interpolationParts('${A:cost$$5}')).toEqual([{ variable: 'A', default: 'cost$5' }]);
    expect(interpolationParts('${A:}')).toEqual([{ variable: 'A', default: '' }]);
    expect(interpolationParts('a$$b $${X} $5')).toEqual([{ text: 'a$b ${X} $5' }]);
    expect(interpolationParts('')).toEqual([]);
  });
});
