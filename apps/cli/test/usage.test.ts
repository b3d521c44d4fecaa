import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { iiiOnTerminal } from './terminal.js';
import { iii, makeSandbox, type Sandbox } from './worker-harness.js';

const CONFIG = 'workers:\n  - name: keep\n    image: example.com/keep:1\n';

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox();
  await writeFile(sb.configPath, CONFIG);
});
afterEach(async () => {
  await sb.remove();
});

describe('a mistyped command', () => {
  it('suggests from the command word and keeps an argument with colons intact (exit 2)', async () => {
    const r = await iii(sb, ['worker', 'ad', '127.0.0.1:5055/bars/busybox:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'Error: unknown command "ad" for "iii worker"\nDid you mean: iii worker add 127.0.0.1:5055/bars/busybox:1\n',
    );
  });

  it('suggests the subcommand, not the topic, for `worker lgos node`', async () => {
    const r = await iii(sb, ['worker', 'lgos', 'node']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Did you mean: iii worker logs node$/m);
  });

  it('corrects a topic and its command together', async () => {
    const r = await iii(sb, ['wroker', 'lsit']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Did you mean: iii worker list$/m);
  });

  it('says where to look when nothing is near', async () => {
    const r = await iii(sb, ['worker', 'deploy-everything']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'Error: unknown command "deploy-everything" for "iii worker"\nRun `iii worker --help` for the list of commands.\n',
    );
  });

  it('on a terminal, prints the suggestion and runs nothing when Enter is pressed', async () => {
    const r = await iiiOnTerminal(['worker', 'ad', 'example.com/other:1'], {
      cwd: sb.cwd,
      env: sb.env,
      input: '\n',
    });
    expect(r.code, r.output).toBe(2);
    expect(r.output).toMatch(/Did you mean: iii worker add example\.com\/other:1/);
    expect(r.output).not.toMatch(/\(Y\/n\)/);
    expect(await readFile(sb.configPath, 'utf8')).toBe(CONFIG);
  });

  it('reports arguments a command does not take, with its usage', async () => {
    const r = await iii(sb, ['worker', 'list', 'extra']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Error: unexpected argument for "iii worker list": extra$/m);
    expect(r.stderr).toMatch(/^Usage: iii worker list /m);
  });
});

describe('aliases people type', () => {
  it('runs `worker ls` and `worker ps` as `worker list`', async () => {
    for (const alias of ['ls', 'ps']) {
      const r = await iii(sb, ['worker', alias, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).workers.map((w: { name: string }) => w.name)).toEqual(['keep']);
    }
  });

  it('runs `worker rm` as `worker remove`', async () => {
    const r = await iii(sb, ['worker', 'rm', 'keep', '-y']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(sb.configPath, 'utf8')).not.toMatch(/keep/);
  });

  it('shows them in help', async () => {
    const topic = await iii(sb, ['worker', '--help']);
    expect(topic.stdout).toMatch(/worker ls\s/);
    expect(topic.stdout).toMatch(/worker ps\s/);
    expect(topic.stdout).toMatch(/worker rm\s/);
    const list = await iii(sb, ['worker', 'list', '--help']);
    expect(list.stdout).toMatch(/ALIASES\s+\$ iii worker ls\s+\$ iii worker ps/);
  });
});

describe('flag and argument errors', () => {
  it('names the missing argument and shows the usage line', async () => {
    const r = await iii(sb, ['worker', 'add']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^Error: missing required argument IMAGE\nUsage: iii worker add IMAGE\.\.\. \[--json\]/,
    );
  });

  it('gives the reason of a failed flag validation', async () => {
    const r = await iii(sb, ['init', 'foo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^Error: Missing required flag lang\nUsage: iii init \[DIR\] -l node\|python\|rust/,
    );
  });

  it('says why a flag value does not parse', async () => {
    const r = await iii(sb, ['worker', 'logs', 'keep', '-n', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^Error: -n expects a number of lines or "all", not "abc"\nUsage: iii worker logs NAME\.\.\. /,
    );
  });

  it('treats -h as --help everywhere', async () => {
    for (const args of [['-h'], ['worker', '-h'], ['worker', 'add', '-h'], ['worker', 'exec', '-h']]) {
      const short = await iii(sb, args);
      const long = await iii(sb, [...args.slice(0, -1), '--help']);
      expect(short.code, args.join(' ')).toBe(0);
      expect(short.stdout).toBe(long.stdout);
      expect(short.stdout).toMatch(/USAGE/);
    }
  });
});
