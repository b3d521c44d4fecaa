import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { requireTools } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

describe('iii system check', () => {
  let home: string;

  const iii = async (env: NodeJS.ProcessEnv, ...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, 'system', 'check', ...args], {
        env: { ...process.env, CI: 'true', III_HOME: home, ...env },
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    requireTools(['runc', 'tini-static']);
    home = await mkdtemp(join(tmpdir(), 'iii-system-check-'));
  });

  afterAll(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('reports what the host gives sandboxes, as JSON too, and leaves no probe behind', async () => {
    const r = await iii({}, '--json');
    // The report says which part failed: on stdout, as check exits 1 when one does.
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, { ok?: boolean } & Record<string, unknown>> & {
      ok: boolean;
      mode: string;
    };
    expect(report.ok).toBe(true);
    expect(report.runtime).toMatchObject({ ok: true, version: expect.any(String) });
    expect(report.network).toMatchObject({ ok: true, modes: ['host', 'none'] });
    expect(report.init).toMatchObject({ ok: true, path: expect.stringMatching(/\/tini-static$/) });
    if (process.getuid?.() === 0) {
      // Root: overlays mounted by iii and cgroup limits enforced, as before rootless existed.
      expect(report.mode).toBe('rootful');
      expect(report.rootfs).toMatchObject({ ok: true, kind: 'overlay' });
      expect(report.cgroup).toMatchObject({ limitsEnforced: true });
    } else {
      expect(report.mode).toBe('rootless');
    }
    expect(await readdir(join(home, 'sandbox'))).not.toContain('probe');

    const text = await iii({});
    expect(text.code, `${text.stdout}\n${text.stderr}`).toBe(0);
    expect(text.stdout).toMatch(/^Mode:\s+(rootful|rootless)/m);
    expect(text.stdout).toMatch(/^Runtime:\s+(runc|crun) /m);
    expect(text.stdout).toMatch(/^Workers can run here\.$/m);
    expect(text.stdout).toMatch(/^Init:\s+tini-static at \S+, PID 1 of each worker/m);
  });

  it('says, with what to install, that workers run without an init where tini-static is missing', async () => {
    // A PATH with the runtime alone.
    const path = join(home, 'runtime-only');
    await mkdir(path, { recursive: true });
    const runc = (await run('sh', ['-c', 'command -v runc || echo /usr/sbin/runc'])).stdout.trim();
    await symlink(runc, join(path, 'runc'));
    const r = await iii({ PATH: path, III_RUNTIME: '' });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^Init:\s+MISSING: none \(tini-static is not on PATH\): workers run as PID 1/m);
    expect(r.stdout).toMatch(/hint: Install tini for its tini-static \(apt-get install tini/);
    expect(r.stdout).toMatch(/^Workers can run here\.$/m);
  });

  it('says what is missing, with a hint, and exits 1 when no runtime can be found', async () => {
    const r = await iii({ PATH: join(home, 'empty-path'), III_RUNTIME: '' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Runtime:\s+MISSING: No OCI runtime found on PATH/m);
    expect(r.stdout).toMatch(/hint: Install one, for example: apt-get install runc/);
    expect(r.stdout).toMatch(/cannot run here/);
  });
});
