import type { BuilderName } from './builder-name.js';

/** Everything a builder needs to build one image and leave it where `iii worker add` finds it. */
export interface BuildPlan {
  contextDir: string;
  dockerfile: string;
  /** The image reference to build (`-t`). */
  reference: string;
  buildArgs: Readonly<Record<string, string>>;
  /** OCI image layout the image is exported to (buildah, podman). */
  layoutDir: string;
  /** `docker save` archive the image is exported to (docker). */
  archivePath: string;
  /** The tag the image gets in the layout. */
  tag: string;
  /** buildah only: private storage, so the host's default container storage is never touched. */
  buildah: { root: string; runroot: string; storageDriver: string; isolation: string };
}

export interface BuilderCommand {
  /** What the step does, for progress and errors ("buildah bud"). */
  step: string;
  cmd: BuilderName;
  args: string[];
  /** Clean-up steps whose failure does not fail the build. */
  optional?: boolean;
}

/** Where the built image ends up: a local image source that `iii worker add/push` accept. */
export interface BuildOutput {
  transport: 'oci-layout' | 'docker-archive';
  path: string;
  /** The tag inside the layout (oci-layout) or the archive's reference (docker-archive). */
  tag: string;
}

function buildArgFlags(buildArgs: Readonly<Record<string, string>>): string[] {
  return Object.entries(buildArgs).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]);
}

/**
 * The commands each builder runs, as data: building never depends on more than these argv lists,
 * so they are tested without the builders installed.
 */
export function builderCommands(builder: BuilderName, plan: BuildPlan): BuilderCommand[] {
  const args = buildArgFlags(plan.buildArgs);
  switch (builder) {
    case 'buildah': {
      const global = [
        '--root',
        plan.buildah.root,
        '--runroot',
        plan.buildah.runroot,
        '--storage-driver',
        plan.buildah.storageDriver,
      ];
      return [
        {
          step: 'buildah bud',
          cmd: 'buildah',
          args: [
            ...global,
            'bud',
            '--isolation',
            plan.buildah.isolation,
            '-f',
            plan.dockerfile,
            '-t',
            plan.reference,
            ...args,
            plan.contextDir,
          ],
        },
        {
          step: 'buildah push',
          cmd: 'buildah',
          args: [...global, 'push', plan.reference, `oci:${plan.layoutDir}:${plan.tag}`],
        },
        // The image now lives in the layout; dropping it keeps the private storage from growing
        // with every build (base images stay cached there).
        { step: 'buildah rmi', cmd: 'buildah', args: [...global, 'rmi', plan.reference], optional: true },
      ];
    }
    case 'podman':
      return [
        {
          step: 'podman build',
          cmd: 'podman',
          args: ['build', '-f', plan.dockerfile, '-t', plan.reference, ...args, plan.contextDir],
        },
        {
          step: 'podman push',
          cmd: 'podman',
          args: ['push', plan.reference, `oci:${plan.layoutDir}:${plan.tag}`],
        },
      ];
    case 'docker':
      return [
        {
          step: 'docker build',
          cmd: 'docker',
          args: ['build', '-f', plan.dockerfile, '-t', plan.reference, ...args, plan.contextDir],
        },
        {
          step: 'docker save',
          cmd: 'docker',
          args: ['save', '-o', plan.archivePath, plan.reference],
        },
      ];
  }
}

export function builderOutput(builder: BuilderName, plan: BuildPlan): BuildOutput {
  return builder === 'docker'
    ? { transport: 'docker-archive', path: plan.archivePath, tag: plan.reference }
    : { transport: 'oci-layout', path: plan.layoutDir, tag: plan.tag };
}
