import { execFile } from 'node:child_process';
import { access, chmod, chown, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BUSYBOX = '/bin/busybox';

/** A minimal image rootfs: static busybox with all applets, users root and app (1000), /app owned by app. */
export async function buildBusyboxRootfs(parent?: string): Promise<string> {
  try {
    await access(BUSYBOX);
  } catch {
    throw new Error(`${BUSYBOX} is missing: apt-get install -y busybox-static`);
  }
  const { stdout } = await run('file', ['-L', BUSYBOX]).catch(() => ({ stdout: 'statically linked' }));
  if (!/statically linked|static-pie/.test(stdout)) {
    throw new Error(`${BUSYBOX} is not static: apt-get install -y busybox-static`);
  }
  const root = await mkdtemp(join(parent ?? tmpdir(), 'iii-busybox-'));
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'app', 'home/app', 'root']) {
    await mkdir(join(root, d), { recursive: true });
  }
  await copyFile(BUSYBOX, join(root, 'bin/busybox'));
  await chmod(join(root, 'bin/busybox'), 0o755);
  const { stdout: list } = await run(BUSYBOX, ['--list']);
  for (const applet of list.split('\n').filter((a) => a && a !== 'busybox')) {
    await symlink('busybox', join(root, 'bin', applet)).catch(() => {});
  }
  await writeFile(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n',
  );
  await writeFile(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n');
  await writeFile(join(root, 'app/image-file'), 'from the image\n');
  await chown(join(root, 'app'), 1000, 1000);
  await chown(join(root, 'home/app'), 1000, 1000);
  await chmod(join(root, 'tmp'), 0o1777);
  return root;
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
