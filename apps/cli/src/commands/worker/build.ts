import { join } from 'node:path';
import { ensureHome } from '@iii/config';
import { openImage, type PushProgress, parseReference, pushImage, RegistryClient } from '@iii/oci';
import { type BuiltImage, builderNames, buildImage } from '@iii/templates';
import { Args, Errors, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { retryLine } from '../../lib/progress.js';

/** `K=V` pairs of `--build-arg`; a bare `K` takes its value from our environment, as with docker. */
function parseBuildArgs(values: readonly string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const key = eq < 0 ? value : value.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new Errors.CLIError(`invalid --build-arg "${value}": expected KEY=VALUE`, { exit: 2 });
    }
    const fromEnv = process.env[key];
    if (eq < 0 && fromEnv === undefined) {
      throw new Errors.CLIError(`--build-arg ${key} has no value and ${key} is not set in the environment`, {
        exit: 2,
      });
    }
    args[key] = eq < 0 ? (fromEnv ?? '') : value.slice(eq + 1);
  }
  return args;
}

export default class WorkerBuild extends BaseCommand {
  static override summary = 'Build a worker image from a project Dockerfile.';
  static override description =
    'Builds the Dockerfile with docker (daemon running), podman or buildah, whichever is installed (or the one named by --builder), and stores the image under $III_HOME/builds so `iii worker add` can use it without a registry. --push also pushes it to the registry of the tag. The templates of `iii init` build the worker inside the image (npm ci and the bundle in a build stage for Node), so a clean checkout builds; a Dockerfile that copies a host-built dist/ needs `npm install && npm run build` first.';
  static override examples = [
    '<%= config.bin %> worker build -t greeter:0.1.0',
    '<%= config.bin %> worker build ./greeter -t greeter:0.1.0 --build-arg BASE_IMAGE=node:22-slim',
    '<%= config.bin %> worker build -t ghcr.io/me/greeter:0.1.0 --push',
    '<%= config.bin %> worker build -t greeter:0.1.0 --builder buildah',
  ];
  static override enableJsonFlag = true;
  static override args = {
    dir: Args.string({ description: 'Project directory (the build context).', default: '.' }),
  };
  static override flags = {
    tag: Flags.string({
      char: 't',
      description: 'Image reference to build: [registry/]repository[:tag].',
      required: true,
    }),
    'build-arg': Flags.string({
      description: 'Build argument KEY=VALUE (repeatable); a bare KEY takes its value from the environment.',
      multiple: true,
    }),
    file: Flags.string({ char: 'f', description: 'Dockerfile to use (default: <dir>/Dockerfile).' }),
    builder: Flags.string({
      description: 'Image builder to use (default: the first usable of docker, podman, buildah).',
      options: [...builderNames],
    }),
    push: Flags.boolean({
      description: 'Push the image to the registry of --tag after building.',
      default: false,
    }),
    insecure: Flags.boolean({
      description: 'With --push: allow plain HTTP and unverified TLS to the registry.',
      default: false,
    }),
  };

  async run(): Promise<BuiltImage & { pushed?: { reference: string; digest: string } }> {
    const { args, flags } = await this.parse(WorkerBuild);
    const buildArgs = parseBuildArgs(flags['build-arg'] ?? []);
    const paths = await ensureHome();
    const abort = new AbortController();
    const onSigint = () => abort.abort(new Error('interrupted'));
    process.on('SIGINT', onSigint);
    try {
      const built = await buildImage({
        dir: args.dir,
        dockerfile: flags.file,
        tag: flags.tag,
        buildArgs,
        builder: flags.builder as (typeof builderNames)[number] | undefined,
        imagesDir: paths.builds,
        buildahStorageDir: join(paths.home, 'buildah'),
        output: process.stderr,
        signal: abort.signal,
      });
      // On stderr even with --json: it is a message, and stdout stays pure JSON.
      process.stderr.write(`\nBuilt ${built.reference} with ${built.builder}: ${built.source}\n`);
      if (!flags.push) {
        process.stderr.write(`Add it with: ${this.config.bin} worker add ${built.source}\n`);
        return built;
      }
      const pushed = await this.push(built.source, flags.tag, flags.insecure, abort.signal);
      process.stderr.write(`Pushed ${pushed.reference}@${pushed.digest}\n`);
      process.stderr.write(`Add it with: ${this.config.bin} worker add ${pushed.reference}\n`);
      return { ...built, pushed };
    } finally {
      process.off('SIGINT', onSigint);
    }
  }

  /** Pushes the exported image with @iii/oci, the same way `iii worker push` does. */
  private async push(source: string, tag: string, insecure: boolean, signal: AbortSignal) {
    const target = parseReference(tag);
    const image = await openImage(source);
    try {
      const onProgress = (event: PushProgress) => {
        if (event.kind !== 'manifest' && event.status !== 'uploading') {
          process.stderr.write(`${event.digest.slice(7, 19)}: ${event.kind} ${event.status}\n`);
        }
      };
      const client = new RegistryClient({
        insecure,
        onRetry: (e) => process.stderr.write(`${retryLine(e)}\n`),
      });
      const { digest } = await pushImage(image, target, { client, signal, onProgress });
      return { reference: target.familiar(), digest };
    } finally {
      await image.close?.();
    }
  }
}
