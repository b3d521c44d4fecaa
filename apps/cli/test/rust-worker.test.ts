import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { debianBase, rustBase, testCacheDir } from '@iii/tools/fixtures';
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

// The Rust template as a user meets it: its own two-stage Dockerfile, unchanged, compiled FROM a local
// stand-in for rust:1-slim-bookworm (Debian + this machine's toolchain) with the official iii-sdk
// crate from crates.io, and run on a stand-in for debian:bookworm-slim.
describe('a Rust worker made by iii init --lang rust, built with buildah and run under iii', () => {
  let sb: Sandbox;
  let project: BuiltProject;

  beforeAll(async () => {
    requireTools(['buildah', 'skopeo', 'runc', 'debootstrap', 'rustc', 'cargo']);
    sb = await makeSandbox();
    const [rust, base] = await Promise.all([rustBase(), debianBase()]);
    // The template's cache mounts (crates and target dir) live under buildah's TMPDIR: keep them
    // outside the clone, so that CI compiles the SDK's dependencies once, not on every run.
    const buildahTmp = join(testCacheDir(), 'buildah-tmp');
    await mkdir(buildahTmp, { recursive: true });
    project = await initAndBuild(
      sb,
      'hello-rs',
      'rust',
      { RUST_IMAGE: rust.ref, BASE_IMAGE: base.ref },
      // overlay: vfs would copy the toolchain's root file system for every step.
      { TMPDIR: buildahTmp, III_BUILDAH_STORAGE_DRIVER: 'overlay' },
    );
  }, 1_800_000);
  afterAll(async () => {
    await sb?.remove();
  });

  it('builds an image whose CMD and ENV both declare the engine address', async () => {
    const { stdout } = await execa('skopeo', ['inspect', '--config', `oci:${project.layout}:0.1.0`]);
    const { config } = JSON.parse(stdout) as {
      config: { Entrypoint: string[]; Cmd: string[]; Env: string[]; User: string };
    };
    expect(config.Entrypoint).toEqual(['/usr/local/bin/worker']);
    expect(config.Cmd).toEqual(['--url', 'ws://localhost:49134']);
    expect(config.Env).toContain('III_URL=ws://localhost:49134');
    expect(config.User).toBe('1000:1000');
  });

  it('answers iii trigger hello-rs::hello once added, with the engine on a random port', async () => {
    const add = await iii(sb, ['worker', 'add', project.source, '--config', sb.configPath]);
    expect(add.code, add.stderr).toBe(0);
    const entry = await readConfig(sb);
    expect(entry).toMatch(/name: hello-rs\n/);
    expect(entry).toMatch(/III_URL: ws:\/\/localhost:49134/);

    const engine = startEngine(sb);
    try {
      const address = await waitForListening(engine);
      expect(address).not.toContain(':49134');
      const answer = await triggerWhenReady(sb, ['hello-rs::hello', 'name=Ada']);
      expect(JSON.parse(answer)).toEqual({ message: 'Hello, Ada!' });
      // iii replaced the value after --url with its own address: the worker says where it connected.
      const logs = await iii(sb, ['worker', 'logs', 'hello-rs', '--config', sb.configPath]);
      const said = `${logs.stdout}${logs.stderr}`;
      expect(said).toContain('hello-rs is ready: hello-rs::hello (ws://');
      expect(said).not.toContain(':49134)');
      const listed = await iii(sb, ['trigger', 'engine::workers::list']);
      const { workers } = JSON.parse(listed.stdout) as { workers: { name: string; runtime: string }[] };
      expect(workers).toContainEqual(expect.objectContaining({ name: 'hello-rs', runtime: 'rust' }));
    } finally {
      engine.kill('SIGTERM');
    }
    const stopped = await engine;
    expect(stopped.exitCode, String(stopped.stderr)).toBe(0);
  });
});
