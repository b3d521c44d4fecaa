import { access, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import * as z from 'zod';
import { BuildFailedError, DockerfileNotFoundError, ProjectNotBuiltError } from '../errors.js';
import { parseImageTag } from '../image-tag.js';
import { type BuildOutput, type BuildPlan, builderCommands, builderOutput } from './build-plan.js';
import type { BuilderName } from './builder-name.js';
import { recordBuild } from './built-image-source.js';
import { detectBuilder } from './detect-builder.js';
import { findExecutable } from './find-executable.js';
import { runCommand } from './run-command.js';

/** Options of {@link buildImage}: the project directory, Dockerfile, tag, build args, builder and where images go. */
export interface BuildImageOptions {
  /** The project directory (build context). */
  dir: string;
  /** Default: `<dir>/Dockerfile`. */
  dockerfile?: string;
  /** The image reference to build, `[registry/]repository[:tag]`. */
  tag: string;
  buildArgs?: Readonly<Record<string, string>>;
  /** Default: detected (docker with a running daemon, podman, buildah). */
  builder?: BuilderName;
  /** Built images are exported under `<imagesDir>/<repository name>` (e.g. `$III_HOME/images`). */
  imagesDir: string;
  /** buildah's private storage (e.g. `$III_HOME/buildah`). */
  buildahStorageDir: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Builder progress output; default: discarded. */
  output?: Writable;
}

/** An image {@link buildImage} built: the builder, the reference, and where the image is as a local source. */
export interface BuiltImage {
  builder: BuilderName;
  /** The reference built (`-t`). */
  reference: string;
  /** Where the image is, as a local image reference: `oci-layout:<dir>:<tag>` or `docker-archive:<file>`. */
  source: string;
  output: BuildOutput;
}

/** Builds the project's Dockerfile with an installed builder and exports the image locally. */
export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  const env = options.env ?? process.env;
  const image = parseImageTag(options.tag);
  const contextDir = resolve(options.dir);
  const dockerfile = resolve(contextDir, options.dockerfile ?? 'Dockerfile');
  await access(dockerfile).catch(() => {
    throw new DockerfileNotFoundError(dockerfile);
  });
  await checkNodeBuildOutput(contextDir, dockerfile);

  const builder = await detectBuilder({ preferred: options.builder, env, signal: options.signal });
  const layoutDir = join(resolve(options.imagesDir), image.name);
  const plan: BuildPlan = {
    contextDir,
    dockerfile,
    reference: image.reference,
    buildArgs: options.buildArgs ?? {},
    layoutDir,
    archivePath: join(layoutDir, `${image.tag}.docker.tar`),
    tag: image.tag,
    buildah: {
      root: join(resolve(options.buildahStorageDir), 'storage'),
      runroot: join(resolve(options.buildahStorageDir), 'run'),
      // vfs works everywhere (no overlay mounts needed); set III_BUILDAH_STORAGE_DRIVER=overlay for speed.
      storageDriver: env.III_BUILDAH_STORAGE_DRIVER ?? 'vfs',
      // chroot isolation runs RUN steps without needing user namespaces; buildah's own variable wins.
      isolation: env.BUILDAH_ISOLATION ?? 'chroot',
    },
  };
  await mkdir(layoutDir, { recursive: true, mode: 0o700 });

  const executable = (await findExecutable(builder, env.PATH)) ?? builder;
  for (const command of builderCommands(builder, plan)) {
    const outcome = await runCommand(executable, command.args, {
      env,
      signal: options.signal,
      output: options.output,
    });
    if (outcome.exitCode !== 0 && !command.optional) {
      throw new BuildFailedError(command.step, outcome.exitCode, failureHint(outcome.tail));
    }
  }
  const output = builderOutput(builder, plan);
  await recordBuild(layoutDir, image, output);
  const source =
    output.transport === 'oci-layout'
      ? `oci-layout:${output.path}:${output.tag}`
      : `docker-archive:${output.path}`;
  return { builder, reference: image.reference, source, output };
}

function failureHint(tail: string): string {
  const last = tail
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .at(-1);
  return last === undefined ? 'See the builder output above.' : `The builder said: ${last}`;
}

/** Whether a Dockerfile copies from the build context's dist/ (a COPY or ADD without --from). */
export function copiesContextDist(dockerfile: string): boolean {
  return dockerfile.split('\n').some((line) => {
    const m = /^\s*(?:COPY|ADD)\s+(.*)$/i.exec(line);
    if (!m) return false;
    const words = (m[1] ?? '').trim().split(/\s+/);
    if (words.some((w) => w.startsWith('--from'))) return false;
    const sources = words.filter((w) => !w.startsWith('--')).slice(0, -1);
    return sources.some((w) => /^(\.\/)?dist(\/|$)/.test(w));
  });
}

const PackageJson = z.object({ scripts: z.record(z.string(), z.string()).optional() }).passthrough();

/**
 * Node worker images copy the bundle from dist/ instead of running npm in the image; a missing
 * dist/ would otherwise surface as a confusing COPY error from the builder.
 */
async function checkNodeBuildOutput(contextDir: string, dockerfile: string): Promise<void> {
  // A Dockerfile that builds inside the image (npm ci, then a build stage) needs no dist/ here.
  const recipe = await readFile(dockerfile, 'utf8').catch(() => '');
  if (!copiesContextDist(recipe)) return;
  const text = await readFile(join(contextDir, 'package.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return; // Not ours to judge: the builder reports what it needs.
  }
  const parsed = PackageJson.safeParse(json);
  if (!parsed.success || parsed.data.scripts?.build === undefined) return;
  const hasDist = await access(join(contextDir, 'dist')).then(
    () => true,
    () => false,
  );
  if (!hasDist) {
    throw new ProjectNotBuiltError(contextDir);
  }
}
