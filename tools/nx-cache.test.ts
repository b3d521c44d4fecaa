import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

async function build(): Promise<string> {
  const { stdout, stderr } = await run('npm', ['run', 'build', '--', '--output-style=static'], {
    cwd: repoRoot,
    env: { ...process.env, NX_DAEMON: 'false' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout + stderr;
}

describe('the nx build cache', () => {
  it('serves a second `npm run build` entirely from the cache', async () => {
    await build();
    const second = await build();
    const hit = second.match(/Cache:\s+(\d+)\/(\d+) hit/);
    expect(hit, second).not.toBeNull();
    expect(Number(hit![2])).toBeGreaterThanOrEqual(7);
    expect(hit![1]).toBe(hit![2]);
  }, 600_000);
});
