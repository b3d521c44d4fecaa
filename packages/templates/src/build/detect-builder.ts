import { BuilderUnavailableError, NoBuilderError } from '../errors.js';
import { type BuilderName, builderNames } from './builder-name.js';
import { findExecutable } from './find-executable.js';
import { runCommand } from './run-command.js';

export interface DetectBuilderOptions {
  /** The builder the user asked for (`--builder`); otherwise the first usable one is chosen. */
  preferred?: BuilderName;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

const INSTALL_HINTS: Record<BuilderName, string> = {
  docker: 'Install Docker (https://docs.docker.com/engine/install/), or use --builder buildah or podman.',
  podman:
    "Install it with `apt-get install podman` (or your system's package manager), or use another --builder.",
  buildah:
    "Install it with `apt-get install buildah` (or your system's package manager), or use another --builder.",
};

const DAEMON_CHECK_TIMEOUT_MS = 15_000;

/**
 * Picks the image builder: the one named, or the first of docker, podman and buildah that is
 * usable. Docker counts only when its daemon answers: the CLI alone cannot build.
 */
export async function detectBuilder(options: DetectBuilderOptions = {}): Promise<BuilderName> {
  const env = options.env ?? process.env;
  if (options.preferred !== undefined) {
    const problem = await unusableReason(options.preferred, env, options.signal);
    if (problem !== undefined) {
      throw new BuilderUnavailableError(options.preferred, problem, hintFor(options.preferred, problem));
    }
    return options.preferred;
  }
  const problems: string[] = [];
  for (const name of builderNames) {
    const problem = await unusableReason(name, env, options.signal);
    if (problem === undefined) return name;
    problems.push(`${name} ${problem}`);
  }
  throw new NoBuilderError(problems.join('; '));
}

function hintFor(builder: BuilderName, problem: string): string {
  if (builder === 'docker' && problem !== NOT_INSTALLED) {
    return 'Start the Docker daemon (e.g. `systemctl start docker`), or use --builder buildah or podman.';
  }
  return INSTALL_HINTS[builder];
}

const NOT_INSTALLED = 'is not installed (not found on PATH)';

async function unusableReason(
  builder: BuilderName,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const path = await findExecutable(builder, env.PATH);
  if (path === undefined) return NOT_INSTALLED;
  if (builder !== 'docker') return undefined;
  const timeout = AbortSignal.timeout(DAEMON_CHECK_TIMEOUT_MS);
  const outcome = await runCommand(path, ['version', '--format', '{{.Server.Version}}'], {
    env,
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  }).catch(() => undefined);
  signal?.throwIfAborted();
  if (outcome === undefined || outcome.exitCode !== 0) return 'is installed but its daemon is not reachable';
  return undefined;
}
