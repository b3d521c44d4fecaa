import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where everything iii keeps outside config.yaml and iii.lock lives (`$III_HOME`, default `~/.iii`). */
export interface IiiPaths {
  home: string;
  /** OCI image layout holding every pulled blob. */
  store: string;
  /**
   * Unpacked read-only root filesystems, one directory per manifest digest: where workers get a
   * copy of their root (no overlayfs), and of images written before layers were kept apart.
   */
  rootfs: string;
  /** Unpacked image layers, one snapshot per chain ID, shared by every image that has them. */
  snapshots: string;
  /**
   * One directory per project (config.yaml) with the record of its running `iii`, its lock and its
   * sandboxes: see `projectPaths`.
   */
  projects: string;
  /** Scratch state of `@iii/sandbox` outside any project: the runtime probes of `iii system check`. */
  sandbox: string;
  /** Local images built by `iii worker build`. */
  builds: string;
}

/** Where {@link iiiPaths} reads `$III_HOME` and the home directory from (the process's by default). */
export interface PathsOptions {
  env?: NodeJS.ProcessEnv;
  homedir?: () => string;
}

/** The `$III_HOME` layout; pure, creates nothing (see {@link ensureHome}). */
export function iiiPaths(opts: PathsOptions = {}): IiiPaths {
  const env = opts.env ?? process.env;
  const home = env.III_HOME ? resolve(env.III_HOME) : join((opts.homedir ?? homedir)(), '.iii');
  return {
    home,
    store: join(home, 'store'),
    rootfs: join(home, 'rootfs'),
    snapshots: join(home, 'snapshots'),
    projects: join(home, 'projects'),
    sandbox: join(home, 'sandbox'),
    builds: join(home, 'builds'),
  };
}

/** Creates `$III_HOME` with mode 0700 (it may hold credentials in worker env) and returns the layout. */
export async function ensureHome(opts: PathsOptions = {}): Promise<IiiPaths> {
  const paths = iiiPaths(opts);
  await mkdir(paths.home, { recursive: true, mode: 0o700 });
  return paths;
}
