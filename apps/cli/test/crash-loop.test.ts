// A worker that exits at once, next to a healthy one, for about a minute: what `list` and `inspect`
// show of the crash loop, and that the healthy worker is not disturbed (built `iii`, runc, registry).
import { join } from 'node:path';
import { busybox, crashingImage, pushFixture } from '@iii/tools/fixtures';
import { requireTools, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IiiProject, type Result } from './iii-project.ts';
import { until } from './until.ts';

/** How long the two workers run side by side before the checks. */
const SOAK_MS = 60_000;

interface Row {
  name: string;
  status: string;
  pid?: number;
  restarts: number;
  connected?: boolean;
  lastExitCode?: number;
  nextRestartAt?: string;
  lastOutput?: string[];
}

describe('a crash-looping worker beside a healthy one (about a minute, runc, real registry)', () => {
  let registry: TestRegistry;
  let project: IiiProject;
  /** Every trigger of the healthy worker during the soak, and every list row of it. */
  const answers: Result[] = [];
  const healthyRows: Row[] = [];
  let healthyPid: number | undefined;

  const iii = (...args: string[]) => project.iii(...args);
  const list = () => project.list<Row>();
  const row = async (name: string) => (await list()).find((w) => w.name === name);

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry']);
    registry = await startRegistry({ flavor: 'plain' });
    await pushFixture('node-worker', registry, 'iii/node-worker:1');
    project = await IiiProject.create('iii-crashloop-');
    const crashRef = await crashingImage((await busybox()).ref, join(project.dir, 'crashy-layout'));
    for (const args of [
      [`${registry.host}/iii/node-worker:1`, '--name', 'healthy'],
      [crashRef, '--name', 'crashy'],
    ]) {
      const r = await iii('worker', 'add', ...args);
      expect(r.code, r.stderr).toBe(0);
    }
    await project.start('the healthy worker answers', async () => {
      const r = await iii('trigger', 'node-worker::env', '--timeout', '5s');
      return r.code === 0;
    });
    healthyPid = (await row('healthy'))?.pid;

    // Side by side for a minute: the healthy worker is called and listed all along.
    const end = Date.now() + SOAK_MS;
    while (Date.now() < end) {
      answers.push(await iii('trigger', 'node-worker::env', '--timeout', '10s'));
      const h = await row('healthy');
      if (h) healthyRows.push(h);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }, 400_000);

  afterAll(async () => {
    await project?.stop();
    await registry?.stop();
    await project?.remove();
  });

  it('keeps the healthy worker connected, triggerable and never restarted', async () => {
    expect(answers.length).toBeGreaterThan(3);
    for (const a of answers) {
      expect(a.code, `${a.stderr}\niii output:\n${project.engineOutput}`).toBe(0);
      expect(JSON.parse(a.stdout)).toEqual({ greeting: 'hello-from-image' });
    }
    expect(healthyPid).toBeGreaterThan(0);
    for (const h of [...healthyRows, await row('healthy')]) {
      expect(h).toMatchObject({ status: 'running', restarts: 0, pid: healthyPid, connected: true });
    }
  });

  it('list shows the crashing worker restarting, its restarts, last exit code, next retry and last output', async () => {
    const crashy = await until('crashy between two runs', async () => {
      const w = await row('crashy');
      return w?.status === 'restarting' ? w : undefined;
    });
    // Backoff 1 s doubling: a minute holds several restarts, without any exact count.
    expect(crashy.restarts).toBeGreaterThanOrEqual(3);
    expect(crashy.lastExitCode).toBe(3);
    expect(Number.isNaN(Date.parse(crashy.nextRestartAt ?? ''))).toBe(false);
    expect(crashy.lastOutput).toContain('crashing');

    const text = await iii('worker', 'list');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^crashy\s.*\b(restarting \(exit 3, retry in \w+\)|starting|running)/m);
    // NAME IMAGE STATUS PID UPTIME CONNECTED RESTARTS: running, connected, never restarted.
    expect(text.stdout).toMatch(/^healthy\s.*\brunning\s+\d+\s+\S+\s+yes\b.*\s0$/m);
    expect(text.stdout).toContain('Last output of crashy:\n  | crashing');
    expect(text.stdout).not.toContain('Last output of healthy');
  });

  it('inspect shows the same: restarts, last exit code, next retry and the last lines of output', async () => {
    const details = await until('crashy inspected between two runs', async () => {
      const r = await iii('worker', 'inspect', 'crashy', '--json');
      if (r.code !== 0) return undefined;
      const d = JSON.parse(r.stdout) as { run: Row | null };
      return d.run?.status === 'restarting' ? d.run : undefined;
    });
    expect(details.restarts).toBeGreaterThanOrEqual(3);
    expect(details.lastExitCode).toBe(3);
    expect(Number.isNaN(Date.parse(details.nextRestartAt ?? ''))).toBe(false);
    expect(details.lastOutput).toContain('crashing');

    const text = await iii('worker', 'inspect', 'crashy');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Restarts: +\d+$/m);
    expect(text.stdout).toMatch(/^Last exit: +3$/m);
    expect(text.stdout).toMatch(/^Last output:\n {2}\| crashing$/m);
  });
});
