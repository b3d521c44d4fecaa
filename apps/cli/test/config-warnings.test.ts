// Every command that reads config.yaml warns about keys it does not know, with file:line:column, once:
// a typo such as `cpu` for `cpus` would otherwise be silently ignored.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './until.ts';

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

describe('unknown keys in config.yaml', () => {
  let dir: string;
  let configPath: string;
  const env = () => ({ III_HOME: join(dir, 'home'), NODE_NO_WARNINGS: '1', CI: 'true' });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iii-config-warnings-'));
    configPath = join(dir, 'config.yaml');
    await writeFile(
      configPath,
      [
        'workers:',
        '  - name: w',
        '    resources: {cpu: 2}',
        '    image: example.com/w:1',
        'engin:',
        '  port: 1',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['worker list', ['worker', 'list']],
    ['worker verify', ['worker', 'verify']],
    ['worker inspect', ['worker', 'inspect', 'w']],
  ])('%s warns once per key, with file:line:column', async (_, args) => {
    const r = await execa(process.execPath, [bin, ...args, '--config', configPath], {
      reject: false,
      env: env(),
      cwd: dir,
    });
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('Warning: '));
    expect(warnings, r.stderr).toEqual([
      `Warning: ${configPath}:5:1: unknown key "engin" in the top level (kept as is)`,
      `Warning: ${configPath}:3:17: unknown key "cpu" in worker "w" resources (kept as is)`,
    ]);
  });

  it('iii start warns too, and still starts', async () => {
    await writeFile(join(dir, 'empty.yaml'), 'workers: []\nresources: {cpu: 2}\n');
    const child = spawn(
      process.execPath,
      [bin, 'start', '--port', '0', '--config', join(dir, 'empty.yaml')],
      {
        env: { ...process.env, ...env() },
        cwd: dir,
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await until('iii listens', async () => stderr.includes('listening on') || undefined, 60_000);
      expect(stderr).toContain(
        `Warning: ${join(dir, 'empty.yaml')}:2:1: unknown key "resources" in the top level (kept as is)`,
      );
    } finally {
      child.kill('SIGINT');
      expect(await exited, stderr).toBe(0);
    }
  });
});
