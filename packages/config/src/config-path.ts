import { dirname, join, resolve } from 'node:path';

/** Where {@link resolveConfigPath} looks: the `--config` flag, `$III_CONFIG_PATH` and the working directory. */
export interface ConfigPathOptions {
  /** `--config` flag value, if given. */
  flag?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** `--config <file>`, else `$III_CONFIG_PATH`, else `./config.yaml`, as an absolute path. */
export function resolveConfigPath(opts: ConfigPathOptions = {}): string {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const chosen = opts.flag || env.III_CONFIG_PATH || 'config.yaml';
  return resolve(cwd, chosen);
}

/** iii.lock lives beside config.yaml, so the pair travels together in a repository. */
export function lockPathFor(configPath: string): string {
  return join(dirname(configPath), 'iii.lock');
}
