/**
 * Loads the bundled `iii` executable with a V8 code cache, as Node >= 22 does for every module with
 * `module.enableCompileCache()` and the `v8-compile-cache` package did before it; Node 20, which `iii`
 * supports, has neither for a bundle like ours.
 *
 * Why: most of what every `iii` command pays before it does anything is V8 parsing and compiling
 * JavaScript (oclif, yaml, zod, the command), the same code on every run. With the code V8 compiled in
 * an earlier run of the same command handed back, `iii --version` and `iii worker list` start in
 * roughly two thirds of the time (docs/performance.md).
 *
 * The cache is a private directory of the user's (`$XDG_CACHE_HOME/iii/code-cache`, by default
 * `~/.cache/iii/code-cache`): one file per command, named by the bundle file's identity (inode, size,
 * modification and change times) and the Node version, so an upgraded `iii` or Node never reads code
 * compiled from other source (V8 itself checks only the source's length). The identity, not a hash
 * of the bytes: hashing needs `node:crypto`, whose loading and first digest were ~4 ms of every
 * `iii --version`; any write to the file changes its change time, which no tool can set back. A
 * command writes its file once, after it succeeded, with what it compiled. The cache only ever
 * speeds things up: a directory that is not the user's own and private is not used, and any failure
 * to read or write it is ignored. `NODE_DISABLE_COMPILE_CACHE=1` (the variable Node itself honours)
 * turns it off.
 *
 * Built on its own into `dist/cli/code-cache.cjs`; it may use nothing but Node's own modules.
 */
import { isAscii } from 'node:buffer';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, Module } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { TOP_LEVEL_FLAGS } from './top-level-flags.js';

/** Where the cache lives for this environment, or undefined when there is no home to keep it in. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  const base = env.XDG_CACHE_HOME?.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return base.startsWith('/') ? join(base, 'iii', 'code-cache') : undefined;
}

/**
 * The cache entry a run of `iii` uses: its command (`worker-list`, `start`...), so that each command
 * finds what it compiled itself. `topics` are the words that take a subcommand (`worker`, `system`).
 * Bare `iii` and `iii --flags` start the engine; `--version` and `--help` are answered by oclif, and
 * a command's help is apart from the command.
 */
export function commandKey(argv: readonly string[], topics: readonly string[]): string {
  const topLevel = TOP_LEVEL_FLAGS.get(argv[0] ?? '');
  if (topLevel !== undefined) return topLevel;
  const words: string[] = [];
  for (const arg of argv) {
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(arg)) break;
    words.push(arg);
    if (words.length === 2 || !topics.includes(arg)) break;
  }
  if (words.length === 0) return 'start';
  // `iii worker add --help` runs none of worker add's code: its cache would leave out all of it.
  if (argv.some((arg) => TOP_LEVEL_FLAGS.get(arg) === 'help')) words.push('help');
  return words.join('-');
}

export type CodeCacheResult = {
  /** The module's exports. */
  exports: unknown;
  /** Whether V8 took code from the cache. */
  cacheUsed: boolean;
  /**
   * Writes what this process compiled to the cache when it was not there (or V8 refused it). Called
   * by `requireWithCodeCache` when the process exits with code 0.
   */
  save(): void;
};

/**
 * Loads the CommonJS file `filename` as `require()` would (and into `require.cache`, so a later
 * `require(filename)` gets the same module), compiled with the code cached for `key` in `cacheDir`.
 */
export function requireWithCodeCache(
  filename: string,
  key: string,
  cacheDir: string | undefined = codeCacheDir(),
  { saveOnExit = true }: { saveOnExit?: boolean } = {},
): CodeCacheResult {
  const fd = openSync(filename, 'r');
  let source: Buffer;
  let entry: string;
  try {
    // The identity of the file read, from the open file: one renamed over it meanwhile is not mixed in.
    const { ino, size, mtimeNs, ctimeNs } = fstatSync(fd, { bigint: true });
    const identity = [ino, size, mtimeNs, ctimeNs].map((n) => n.toString(36)).join('-');
    entry = `${key}.${process.version}-${process.arch}.${identity}.v8`;
    source = readFileSync(fd);
  } finally {
    closeSync(fd);
  }
  const cachedData = cacheDir === undefined ? undefined : readPrivateFile(cacheDir, entry);
  // Module.wrap's parameters, and `__iiiImport` for the bundle's import()s (see tsup.config.ts).
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname, __iiiImport) { ${decode(source)}\n})`,
    { filename, cachedData },
  );
  const cacheUsed = cachedData !== undefined && !script.cachedDataRejected;

  const mod = new Module(filename);
  mod.filename = filename;
  const requireFromFile = createRequire(filename);
  mod.paths = requireFromFile.resolve.paths('x') ?? [];
  const requireCache = requireFromFile.cache;
  requireCache[filename] = mod;
  try {
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
    const dynamicImport = (specifier: string) => import(specifier);
    wrapper.call(mod.exports, mod.exports, requireFromFile, mod, filename, dirname(filename), dynamicImport);
    mod.loaded = true;
  } catch (error) {
    delete requireCache[filename];
    throw error;
  }

  let saved = cacheUsed;
  const save = (): void => {
    if (saved || cacheDir === undefined) return;
    saved = true;
    writeCache(cacheDir, key, entry, () => script.createCachedData());
  };
  if (saveOnExit && !cacheUsed && cacheDir !== undefined) {
    process.once('exit', (code) => {
      if (code === 0) save();
    });
  }
  return { exports: mod.exports, cacheUsed, save };
}

/**
 * The source text of the bundle. The build keeps it ASCII (a test checks), so it is decoded as
 * latin1, into a one-byte string; bytes outside ASCII, from a build that is not, are decoded as UTF-8.
 */
function decode(source: Buffer): string {
  return isAscii(source) ? source.toString('latin1') : source.toString('utf8');
}

/** The bytes of `dir/name` if both are the user's own and writable by no one else. */
function readPrivateFile(dir: string, name: string): Buffer | undefined {
  if (!isPrivateDir(dir)) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isPrivateDir(dir: string): boolean {
  try {
    const stat = lstatSync(dir);
    return stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

/** Whether the deepest existing directory on the way to `dir` (`dir` itself if it exists) is ours. */
function ownsNearestDirectory(dir: string): boolean {
  for (let path = dir; ; path = dirname(path)) {
    try {
      return lstatSync(path).uid === process.getuid?.();
    } catch {
      if (dirname(path) === path) return false;
    }
  }
}

/** Writes `entry` atomically and removes the entries of `key` for other builds. Never throws. */
function writeCache(dir: string, key: string, entry: string, data: () => Buffer): void {
  try {
    // Never create it in another user's directory (root run with a user's HOME, as sudo may).
    if (!ownsNearestDirectory(dir)) return;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!isPrivateDir(dir)) return;
    const temporary = join(dir, `.${entry}.${process.pid}.tmp`);
    writeFileSync(temporary, data(), { mode: 0o600, flag: 'wx' });
    renameSync(temporary, join(dir, entry));
    for (const name of readdirSync(dir)) {
      if (name !== entry && name.startsWith(`${key}.`) && name.endsWith('.v8')) unlinkSync(join(dir, name));
    }
  } catch {
    // A cache that cannot be written only means the next run compiles again.
  }
}

/**
 * How `bin/run.js` loads the executable: `dist/cli/iii.cjs` beside this file, cached for the command
 * `argv` names. Returns its exports (`main`).
 */
export function loadExecutable(argv: readonly string[]): {
  main(argv: string[], dir: string): Promise<void>;
} {
  const packageJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    oclif?: { topics?: Record<string, unknown> };
  };
  const key = commandKey(argv, Object.keys(packageJson.oclif?.topics ?? {}));
  return requireWithCodeCache(join(__dirname, 'iii.cjs'), key).exports as {
    main(argv: string[], dir: string): Promise<void>;
  };
}
