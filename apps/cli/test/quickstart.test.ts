import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeBuildBase } from '@iii/tools/fixtures';
import { requireTools } from '@iii/tools/test-env';
import { execa, type Result } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The README's quickstart command, minus the install steps the test run has already done.
const script = fileURLToPath(new URL('../../../tools/quickstart.sh', import.meta.url));

describe('the README quickstart (bash tools/quickstart.sh --no-install)', () => {
  let tmp: string;
  let run: Result<{ reject: false; env: Record<string, string> }>;

  beforeAll(async () => {
    requireTools(['buildah', 'skopeo', 'runc']);
    // Built here under the hook timeout, so a first fixture build does not count against the script.
    await nodeBuildBase();
    // The script's scratch dir goes under TMPDIR: a private one shows whether it cleans up after itself.
    tmp = await mkdtemp(join(tmpdir(), 'iii-quickstart-test-'));
    run = await execa('bash', [script, '--no-install'], {
      reject: false,
      env: { TMPDIR: tmp },
      timeout: 280_000,
    });
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('exits 0 and prints the answer of greeter::hello on stdout', () => {
    expect(run.exitCode, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ message: 'Hello, iii!' });
  });

  it("runs the engine on a random port although the template's image declares ws://localhost:49134", () => {
    // `iii worker add` copied the Dockerfile's ENV III_URL into config.yaml (printed with a `  | ` prefix).
    expect(run.stderr).toMatch(/^ {2}\| +III_URL: ws:\/\/localhost:49134$/m);
    const port = /iii is listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(run.stderr)?.[1];
    expect(Number(port)).toBeGreaterThan(0);
    expect(port).not.toBe('49134');
  });

  it('walks through init, build, add, start, trigger, list and logs under step headings', () => {
    const headings = run.stderr.split('\n').filter((line) => line.includes('==> '));
    expect(headings.map((h) => h.replace(/^.*==> \d+\. /, ''))).toEqual([
      'Prepare a scratch directory with its own III_HOME',
      'Build the local Node base image (buildah, offline; cached after the first run)',
      'Scaffold a Node worker with iii init',
      'Build the worker image with iii worker build (buildah)',
      'Add the worker to config.yaml with iii worker add',
      'Start iii (engine + workers) in the background',
      'Wait until the worker has registered greeter::hello',
      'Call the worker: iii trigger greeter::hello',
      'List the workers: iii worker list',
      "Show the worker's logs: iii worker logs greeter",
      'Stop iii with Ctrl-C (SIGINT)',
      'Done',
    ]);
    // `iii worker list` saw the worker running, and its log holds the line the template logs per call.
    expect(run.stderr).toMatch(/^greeter\s+oci-layout:\S+\s+running\s+\d+/m);
    expect(run.stderr).toContain('saying hello to iii');
  });

  it('stops iii with SIGINT and leaves no container, mount or scratch dir behind', async () => {
    expect(run.stderr).toContain('SIGINT: stopping');
    expect(run.stderr).toMatch(/iii \(pid \d+\) stopped with exit status 0/);
    expect(run.stderr).toContain('no sandbox container and no worker mount left');
    expect(await readdir(tmp)).not.toContainEqual(expect.stringMatching(/^iii-quickstart-/));
    expect(await readFile('/proc/self/mounts', 'utf8')).not.toContain(tmp);
  });

  it('names the step that failed, and still removes its scratch dir', async () => {
    // A storage driver buildah does not know: building the image fails at once.
    const failed = await execa('bash', [script, '--no-install'], {
      reject: false,
      env: { TMPDIR: tmp, III_BUILDAH_STORAGE_DRIVER: 'no-such-driver' },
      timeout: 120_000,
    });
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toContain(
      'quickstart: FAILED at step 4 (Build the worker image with iii worker build (buildah))',
    );
    expect(await readdir(tmp)).not.toContainEqual(expect.stringMatching(/^iii-quickstart-/));
  });

  it('rejects an unknown option with exit status 2 before doing anything', async () => {
    const bad = await execa('bash', [script, '--no-such-option'], { reject: false, env: { TMPDIR: tmp } });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('unknown option --no-such-option');
  });
});
