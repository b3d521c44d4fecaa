import { describe, expect, it } from 'vitest';
import { escapeControlCharacters } from './terminal-text.js';

describe('escapeControlCharacters', () => {
  it('shows escape sequences, carriage returns and bells as \\xNN', () => {
    expect(escapeControlCharacters('\x1b]0;pwned\x07title')).toBe('\\x1b]0;pwned\\x07title');
    expect(escapeControlCharacters('\x1b[2Jcleared')).toBe('\\x1b[2Jcleared');
    expect(escapeControlCharacters('ok\rfake')).toBe('ok\\x0dfake');
    expect(escapeControlCharacters('a\x00b\x7fc')).toBe('a\\x00b\\x7fc');
  });

  it('shows C1 controls by their UTF-8 bytes', () => {
    expect(escapeControlCharacters('\u009b2J')).toBe('\\xc2\\x9b2J');
  });

  it('leaves tabs and printable text, including non-ASCII, unchanged', () => {
    const text = 'level\tinfo héllo — 日本 🙂 \\x1b stays';
    expect(escapeControlCharacters(text)).toBe(text);
  });
});
