import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RootfsWriteError } from './errors.js';
import { SmallFiles, SmallFilesThread } from './small-files.js';

const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
const finish = { owner: undefined, chmod: undefined, mtime: new Date('2022-02-03T04:05:06.789Z') };

let dir: string;
let thread: SmallFilesThread;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iii-small-files-'));
  thread = new SmallFilesThread();
});
afterEach(async () => {
  await thread.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function add(files: SmallFiles, name: string, content: string, mode = 0o644): Promise<void> {
  await files.add(name, path.join(dir, name), flags, mode, finish, Buffer.from(content));
}

describe('SmallFiles', () => {
  it('writes every file, across many batches, with its content, mode and mtime', async () => {
    const files = new SmallFiles(thread);
    // More files and bytes than four batches hold, so adding has to wait for batches to come back.
    for (let i = 0; i < 1000; i++) await add(files, `f${i}`, `${i}:${'x'.repeat(2000)}`, 0o600);
    await files.flush();
    expect(files.pending).toBe(false);
    expect(fs.readdirSync(dir)).toHaveLength(1000);
    const st = fs.statSync(path.join(dir, 'f999'));
    expect(fs.readFileSync(path.join(dir, 'f999'), 'utf8')).toBe(`999:${'x'.repeat(2000)}`);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.mtime).toEqual(finish.mtime);
  });

  it('names the entry that failed, throws it on the next call, and stops the rest of its batch', async () => {
    const files = new SmallFiles(thread);
    await add(files, 'first', 'one');
    await add(files, 'missing-dir/second', 'two');
    await add(files, 'third', 'three');
    const error = await files.flush().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RootfsWriteError);
    expect((error as Error).message).toContain("'missing-dir/second'");
    expect((error as Error).message).toContain('ENOENT');
    expect(fs.readdirSync(dir)).toEqual(['first']);
    await expect(add(files, 'fourth', 'four')).rejects.toBe(error);
  });

  it('takes nothing more once settled after a failure elsewhere', async () => {
    const files = new SmallFiles(thread);
    await add(files, 'queued', 'never written');
    await files.settle();
    expect(files.pending).toBe(false);
    await expect(add(files, 'late', 'x')).rejects.toThrow('no longer being unpacked');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('fails, naming the entry, once its thread is closed', async () => {
    const files = new SmallFiles(thread);
    await add(files, 'written', 'one');
    await files.flush();
    await thread.close();
    await add(files, 'after-close', 'two');
    await expect(files.flush()).rejects.toThrow("'after-close'");
    expect(fs.readdirSync(dir)).toEqual(['written']);
  });
});
