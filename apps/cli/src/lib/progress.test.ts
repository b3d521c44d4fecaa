import { describe, expect, it } from 'vitest';
import { PullProgress, progressModeFor } from './progress.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

function sink(isTTY = false) {
  const chunks: string[] = [];
  return { out: { isTTY, columns: 200, write: (t: string) => chunks.push(t) }, text: () => chunks.join('') };
}

describe('PullProgress', () => {
  it('draws one bar per layer with bytes and speed on a terminal, redrawing in place', () => {
    const s = sink(true);
    let now = 0;
    const p = new PullProgress(s.out, 'bars', () => now);
    p.update({ id: A, state: 'downloading', current: 0, total: 2 * 1024 * 1024 });
    p.update({ id: B, state: 'exists', total: 10 });
    now = 1000;
    p.update({ id: A, state: 'downloading', current: 1024 * 1024 });
    const text = s.text();
    expect(text).toContain(
      'aaaaaaaaaaaa: Downloading [==============>               ] 1.0 MiB/2.0 MiB 1.0 MiB/s',
    );
    expect(text).toContain('bbbbbbbbbbbb: Already exists');
    expect(text).toContain('\x1b[2A');
  });

  it('prints plain start and end lines off a terminal', () => {
    const s = sink();
    let now = 0;
    const p = new PullProgress(s.out, 'lines', () => now);
    p.update({ id: A, state: 'downloading', current: 0, total: 2048 });
    p.update({ id: A, state: 'downloading', current: 1024 });
    now = 500;
    p.update({ id: A, state: 'complete', current: 2048, total: 2048 });
    p.update({ id: B, state: 'exists', total: 5 });
    expect(s.text()).toBe(
      'aaaaaaaaaaaa: downloading 2.0 KiB\naaaaaaaaaaaa: pulled 2.0 KiB in 0.5s\nbbbbbbbbbbbb: already exists\n',
    );
  });

  it('prints nothing in json mode', () => {
    const s = sink(true);
    const p = new PullProgress(s.out, progressModeFor(s.out, true));
    p.message('Pulling x');
    p.update({ id: A, state: 'downloading', current: 1, total: 2 });
    p.finish();
    expect(s.text()).toBe('');
  });

  it('falls back to plain lines on a terminal that reports 0 columns', () => {
    const chunks: string[] = [];
    const out = { isTTY: true, columns: 0, write: (t: string) => chunks.push(t) };
    expect(progressModeFor(out, false)).toBe('lines');
    const p = new PullProgress(out, progressModeFor(out, false));
    p.update({ id: A, state: 'downloading', current: 0, total: 2048 });
    p.update({ id: A, state: 'complete', current: 2048, total: 2048 });
    expect(chunks.join('')).toMatch(/^aaaaaaaaaaaa: downloading 2\.0 KiB\naaaaaaaaaaaa: pulled 2\.0 KiB in/);
  });
});
