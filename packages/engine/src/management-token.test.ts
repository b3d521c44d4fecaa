import { describe, expect, it } from 'vitest';
import { bearerToken, createManagementToken, tokenMatches } from './management-token.js';

describe('management token', () => {
  it('is random, long and safe in a header', () => {
    const a = createManagementToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createManagementToken()).not.toBe(a);
  });

  it('is read from an Authorization: Bearer header only', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken(['Bearer abc'])).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('matches only the same token, whatever the lengths', () => {
    expect(tokenMatches('secret-token', 'secret-token')).toBe(true);
    expect(tokenMatches('secret-token', 'secret-tokem')).toBe(false);
    expect(tokenMatches('secret-token', 'secret')).toBe(false);
    expect(tokenMatches('secret-token', '')).toBe(false);
    expect(tokenMatches('secret-token', undefined)).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
  });
});
