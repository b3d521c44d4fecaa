import { pythonBase } from '@iii/tools/fixtures';
import { requireTools } from '@iii/tools/test-env';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BuiltProject,
  initAndBuild,
  readConfig,
  startEngine,
  triggerWhenReady,
  waitForListening,
} from './language-project.ts';
import { iii, makeSandbox, type Sandbox } from './worker-harness.ts';

// The Python template as a user meets it: its own Dockerfile, unchanged, built FROM a local
// stand-in for python:3.12-slim (Debian's python3), with the official iii-sdk from PyPI.
describe('a Python worker made by iii init --lang python, built with buildah and run under iii', () => {
  let sb: Sandbox;
  let project: BuiltProject;

  beforeAll(async () => {
    requireTools(['buildah', 'skopeo', 'runc', 'debootstrap']);
    sb = await makeSandbox();
    const base = await pythonBase();
    project = await initAndBuild(sb, 'hello-py', 'python', { BASE_IMAGE: base.ref });
  }, 900_000);
  afterAll(async () => {
    await sb?.remove();
  });

  it('builds an image that runs the template worker with the engine address in ENV', async () => {
    const { stdout } = await execa('skopeo', ['inspect', '--config', `oci:${project.layout}:0.1.0`]);
    const { config } = JSON.parse(stdout) as {
      config: { Entrypoint: string[]; Env: string[]; User: string };
    };
    expect(config.Entrypoint).toEqual(['python', '/app/worker.py']);
    expect(config.Env).toContain('III_URL=ws://localhost:49134');
    expect(config.Env).toContain('GREETING=Hello');
    expect(config.User).toBe('1000:1000');
  });

  it('answers iii trigger hello-py::hello once added, with the engine on a random port', async () => {
    const add = await iii(sb, ['worker', 'add', project.source, '--config', sb.configPath]);
    expect(add.code, add.stderr).toBe(0);
    const entry = await readConfig(sb);
    expect(entry).toMatch(/name: hello-py\n/);
    expect(entry).toMatch(/III_URL: ws:\/\/localhost:49134/);
    expect(entry).toMatch(/GREETING: Hello/);

    const engine = startEngine(sb);
    try {
      const address = await waitForListening(engine);
      expect(address).not.toContain(':49134');
      const answer = await triggerWhenReady(sb, ['hello-py::hello', 'name=Ada']);
      expect(JSON.parse(answer)).toEqual({ message: 'Hello, Ada!' });
      const fallback = await iii(sb, ['trigger', 'hello-py::hello']);
      expect(JSON.parse(fallback.stdout)).toEqual({ message: 'Hello, world!' });
      // The worker called engine::workers::register: iii lists it as a Python worker.
      const listed = await iii(sb, ['trigger', 'engine::workers::list']);
      const { workers } = JSON.parse(listed.stdout) as { workers: { name: string; runtime: string }[] };
      expect(workers).toContainEqual(expect.objectContaining({ name: 'hello-py', runtime: 'python' }));
    } finally {
      engine.kill('SIGTERM');
    }
    const stopped = await engine;
    expect(stopped.exitCode, String(stopped.stderr)).toBe(0);
  });
});
