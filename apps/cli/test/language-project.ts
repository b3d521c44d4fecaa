// The user's path for a worker project in any language, through the built `iii`:
// `iii init --lang <lang>` → `iii worker build` (buildah) → `iii worker add` → `iii` → `iii trigger`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { bin, iii, type RunResult, type Sandbox } from './worker-harness.ts';

export interface BuiltProject {
  dir: string;
  /** `oci-layout:<dir>:<tag>`, as `iii worker build --json` prints it. */
  source: string;
  layout: string;
  build: RunResult;
}

/** `iii init <name> --lang <lang>` then `iii worker build` with buildah and the given build args. */
export async function initAndBuild(
  sb: Sandbox,
  name: string,
  lang: 'node' | 'python' | 'rust',
  buildArgs: Record<string, string>,
  /** Extra environment of `iii worker build` (and so of the builder). */
  env: NodeJS.ProcessEnv = {},
): Promise<BuiltProject> {
  const init = await iii(sb, ['init', name, '--lang', lang]);
  if (init.code !== 0) throw new Error(`iii init failed:\n${init.stderr}`);
  const dir = join(sb.cwd, name);
  const args = Object.entries(buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
  const build = await iii(
    sb,
    ['worker', 'build', dir, '-t', `${name}:0.1.0`, '--builder', 'buildah', ...args, '--json'],
    env,
  );
  if (build.code !== 0) throw new Error(`iii worker build failed:\n${build.stderr}`);
  const built = JSON.parse(build.stdout) as { source: string; output: { path: string } };
  return { dir, source: built.source, layout: built.output.path, build };
}

/** Resolves once `iii start` says it listens (it prints its address on stderr). */
export async function waitForListening(engine: ResultPromise): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let seen = '';
    engine.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening on (ws:\/\/\S+)/.exec(seen);
      if (match?.[1]) resolve(match[1]);
    });
    engine.once('exit', () => reject(new Error(`iii exited before listening:\n${seen}`)));
  });
}

/** Starts `iii` on a random free port with the sandbox's config.yaml. */
export function startEngine(sb: Sandbox): ResultPromise {
  return execa(process.execPath, [bin, 'start', '--config', sb.configPath, '--port', '0'], {
    cwd: sb.cwd,
    reject: false,
    env: sb.env,
    extendEnv: false,
  });
}

/** A worker registers its function a moment after `iii` starts it: retry until it answers. */
export async function triggerWhenReady(sb: Sandbox, args: string[]): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 120; attempt++) {
    const result = await iii(sb, ['trigger', ...args]);
    if (result.code === 0) return result.stdout;
    last = result.stderr;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const logs = await iii(sb, ['worker', 'logs', args[0]?.split('::')[0] ?? '', '--config', sb.configPath]);
  throw new Error(`the worker never answered:\n${last}\nworker log:\n${logs.stdout}${logs.stderr}`);
}

/** The config.yaml entry `iii worker add` wrote. */
export function readConfig(sb: Sandbox): Promise<string> {
  return readFile(sb.configPath, 'utf8');
}
