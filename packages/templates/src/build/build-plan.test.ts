import { describe, expect, it } from 'vitest';
import { type BuildPlan, builderCommands, builderOutput } from './build-plan.js';

const plan: BuildPlan = {
  contextDir: '/p',
  dockerfile: '/p/Dockerfile',
  reference: 'hello:0.1.0',
  buildArgs: { BASE_IMAGE: 'oci:/base:1' },
  layoutDir: '/home/.iii/builds/hello',
  archivePath: '/home/.iii/builds/hello/0.1.0.docker.tar',
  tag: '0.1.0',
  buildah: { root: '/s/storage', runroot: '/s/run', storageDriver: 'vfs', isolation: 'chroot' },
};

describe('builderCommands', () => {
  it('runs buildah in private storage and exports an OCI layout', () => {
    const commands = builderCommands('buildah', plan);
    const global = ['--root', '/s/storage', '--runroot', '/s/run', '--storage-driver', 'vfs'];
    expect(commands.map((c) => c.args)).toEqual([
      [
        ...global,
        'bud',
        '--isolation',
        'chroot',
        '-f',
        '/p/Dockerfile',
        '-t',
        'hello:0.1.0',
        '--build-arg',
        'BASE_IMAGE=oci:/base:1',
        '/p',
      ],
      [...global, 'push', 'hello:0.1.0', 'oci:/home/.iii/builds/hello:0.1.0'],
      [...global, 'rmi', 'hello:0.1.0'],
    ]);
    expect(commands.at(-1)?.optional).toBe(true);
    expect(builderOutput('buildah', plan)).toEqual({
      transport: 'oci-layout',
      path: '/home/.iii/builds/hello',
      tag: '0.1.0',
    });
  });

  it('exports podman builds to an OCI layout and docker builds to a docker archive', () => {
    expect(builderCommands('podman', plan).map((c) => c.args[0])).toEqual(['build', 'push']);
    expect(builderCommands('podman', plan)[1]?.args).toEqual([
      'push',
      'hello:0.1.0',
      'oci:/home/.iii/builds/hello:0.1.0',
    ]);
    expect(builderCommands('docker', plan).map((c) => c.args)).toEqual([
      ['build', '-f', '/p/Dockerfile', '-t', 'hello:0.1.0', '--build-arg', 'BASE_IMAGE=oci:/base:1', '/p'],
      ['save', '-o', '/home/.iii/builds/hello/0.1.0.docker.tar', 'hello:0.1.0'],
    ]);
    expect(builderOutput('docker', plan)).toEqual({
      transport: 'docker-archive',
      path: '/home/.iii/builds/hello/0.1.0.docker.tar',
      tag: 'hello:0.1.0',
    });
  });
});
