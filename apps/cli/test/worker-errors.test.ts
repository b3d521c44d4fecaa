import { readFile, writeFile } from 'node:fs/promises';
import { pushFixture } from '@iii/tools/fixtures';
import { startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { iii, makeSandbox, type RunResult, type Sandbox } from './worker-harness.js';

let plain: TestRegistry;
let locked: TestRegistry;

beforeAll(async () => {
  [plain, locked] = await Promise.all([
    startRegistry({ flavor: 'plain' }),
    startRegistry({ flavor: 'token', anonymousPull: false }),
  ]);
  await Promise.all([pushFixture('busybox', plain, 'busybox:1'), pushFixture('multiarch', plain, 'multi:1')]);
});

afterAll(async () => {
  await Promise.all([plain?.stop(), locked?.stop()]);
});

let sb: Sandbox;
const START = 'workers:\n  - name: keep\n    image: example.com/keep:1\n';
beforeEach(async () => {
  sb = await makeSandbox();
  await writeFile(sb.configPath, START);
});
afterEach(async () => {
  await sb.remove();
});

/** One `Error:` line, one line of what to do, exit 1, and config.yaml untouched. */
async function expectCleanFailure(r: RunResult, message: RegExp, hint?: RegExp): Promise<void> {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^Error: /);
  expect(lines[0]).toMatch(message);
  if (hint) expect(lines[1]).toMatch(hint);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(await readFile(sb.configPath, 'utf8')).toBe(START);
  await expect(readFile(sb.lockPath)).rejects.toThrow();
}

describe('iii worker add and remove errors', () => {
  it('reports a malformed config.yaml with line and column and never rewrites it', async () => {
    const broken = 'workers:\n  - name: a\n    image: x\n   bad: [\n';
    await writeFile(sb.configPath, broken);
    const r = await iii(sb, ['worker', 'add', `${plain.host}/busybox:1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: .*config\.yaml:\d+:\d+: /m);
    expect(await readFile(sb.configPath, 'utf8')).toBe(broken);
  });

  it('rejects an invalid worker name', async () => {
    await expectCleanFailure(
      await iii(sb, ['worker', 'add', `${plain.host}/busybox:1`, '--name', '../evil']),
      /invalid worker name "\.\.\/evil"/,
      /--name/,
    );
  });

  it('reports an unknown registry host', async () => {
    await expectCleanFailure(
      await iii(sb, ['worker', 'add', 'no-such-host.invalid/team/x:1']),
      /no-such-host\.invalid/,
    );
  });

  it('suggests docker login on 401', async () => {
    await expectCleanFailure(
      await iii(sb, ['worker', 'add', `${locked.host}/busybox:1`]),
      /./,
      /docker login/,
    );
  });

  it('reports a missing tag as not found', async () => {
    await expectCleanFailure(await iii(sb, ['worker', 'add', `${plain.host}/busybox:nope`]), /not found/i);
  });

  it('lists the platforms offered when none matches', async () => {
    await expectCleanFailure(
      await iii(sb, ['worker', 'add', `${plain.host}/multi:1`, '--platform', 'linux/s390x']),
      /linux\/s390x/,
    );
  });

  it('treats --name with several images as a usage error (exit 2)', async () => {
    const r = await iii(sb, ['worker', 'add', 'a/b:1', 'c/d:1', '--name', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Error: --name can only be used with a single image$/m);
    expect(await readFile(sb.configPath, 'utf8')).toBe(START);
  });

  it('refuses to remove an unknown worker', async () => {
    await expectCleanFailure(await iii(sb, ['worker', 'remove', 'ghost', '-y']), /no worker named "ghost"/);
  });

  it('refuses to remove without -y when not on a terminal', async () => {
    await expectCleanFailure(await iii(sb, ['worker', 'remove', 'keep']), /without confirmation/, /-y/);
  });
});
