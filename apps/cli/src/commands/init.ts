import { createRequire } from 'node:module';
import { basename, join, relative, resolve } from 'node:path';
import { WORKER_SCHEMA_URL } from '@iii/config';
import {
  nextSteps,
  type PinResult,
  pinBaseImages,
  type RenderResult,
  render,
  templateLanguages,
} from '@iii/templates';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';

/** The `@iii/sdk` range a new Node project depends on: the SDK release this CLI was built with. */
function defaultSdkVersion(): string {
  const { version } = createRequire(import.meta.url)('@iii/sdk/package.json') as { version: string };
  return `^${version}`;
}

export default class Init extends BaseCommand {
  static override summary = 'Create a worker project from a template.';
  static override description =
    "Scaffolds a worker in Node (TypeScript), Python or Rust: source that registers `<name>::hello` with the SDK of its language, a Dockerfile, .dockerignore, iii.worker.yaml with default resources, and a README with the build, push and add commands. The directory must be new or empty. The Dockerfile's base images are pinned to the digest their tag points to now (`FROM` stays reproducible; the tag is kept in a comment above); where a registry does not answer within a few seconds, `iii init` says so and keeps the tag.";
  static override examples = [
    '<%= config.bin %> init greeter --lang node',
    '<%= config.bin %> init . --lang python --name image-resize',
    '<%= config.bin %> init workers/fast --lang rust',
    {
      description: 'Take the base image from your own registry (pinned to its current digest)',
      command: '<%= config.bin %> init greeter --lang node --base-image registry.example.com/node:20-slim',
    },
    {
      description: 'Offline: keep the base image tags, ask no registry',
      command: '<%= config.bin %> init greeter --lang python --no-pin',
    },
  ];
  static override enableJsonFlag = true;
  static override args = {
    dir: Args.string({ description: 'Project directory (created if missing; must be empty).', default: '.' }),
  };
  static override flags = {
    lang: Flags.string({
      char: 'l',
      description: 'Language of the worker.',
      options: [...templateLanguages],
      required: true,
    }),
    name: Flags.string({
      char: 'n',
      description:
        'Worker name (default: the directory name); the function is <name>::hello. -n is --name here and in `worker add`; in `worker logs` it is --tail, as in `docker logs -n`.',
    }),
    'sdk-version': Flags.string({
      description:
        'npm version or spec of @iii/sdk for a Node project (default: the release matching this CLI).',
    }),
    'base-image': Flags.string({
      description:
        "Base image of the worker (the Dockerfile's BASE_IMAGE default), e.g. a mirror of the official one.",
    }),
    pin: Flags.boolean({
      description:
        'Pin the base images to their current digest (--no-pin keeps the tags and asks no registry).',
      default: true,
      allowNo: true,
    }),
  };

  async run(): Promise<RenderResult & PinResult & { nextSteps: string[] }> {
    const { args, flags } = await this.parse(Init);
    const dir = resolve(args.dir);
    const name = flags.name ?? basename(dir);
    // Loaded here, not at the top: most commands never need the registry client.
    const oci = flags.pin || flags['base-image'] !== undefined ? await import('@iii/oci') : undefined;
    // Checked before anything is written; written fully qualified, as the templates' own bases are.
    const baseImage = flags['base-image'] && oci?.parseReference(flags['base-image']).toString();
    const result = await render({
      lang: flags.lang,
      name,
      dir,
      workerSchemaUrl: WORKER_SCHEMA_URL,
      ...(baseImage ? { baseImages: { BASE_IMAGE: baseImage } } : {}),
      ...(flags.lang === 'node' ? { sdkVersion: flags['sdk-version'] ?? defaultSdkVersion() } : {}),
    });
    let pins: PinResult = { pinned: [], unpinned: [] };
    if (flags.pin && oci) {
      const client = new oci.RegistryClient({ retry: { attempts: 1 }, stallTimeoutMs: PIN_TIMEOUT_MS });
      try {
        pins = await pinBaseImages({
          dockerfile: join(dir, 'Dockerfile'),
          timeoutMs: PIN_TIMEOUT_MS,
          resolveDigest: async (image, signal) =>
            (await client.getManifest(oci.parseReference(image), { signal })).digest,
        });
      } finally {
        client.close();
      }
    }
    const shown = relative(process.cwd(), dir) || '.';
    const steps = nextSteps({ lang: result.lang, name, dir: shown });
    if (!this.jsonEnabled()) {
      this.logToStderr(
        `Created the ${result.lang} worker ${name} in ${shown} (function ${result.functionId}):`,
      );
      for (const file of result.files) this.logToStderr(`  ${file}`);
      for (const pin of pins.pinned) this.logToStderr(`Pinned the base image ${pin.image} to ${pin.digest}.`);
      if (pins.unpinned.length > 0) {
        // One line, whatever the number of images: they usually fail for the same reason.
        const reasons = [...new Set(pins.unpinned.map((u) => u.reason))].join('; ');
        const images = pins.unpinned.map((u) => u.image).join(' and ');
        this.logToStderr(`Kept the tag of ${images}, not pinned to a digest: ${reasons}.`);
      }
      this.logToStderr('\nNext steps:');
      for (const step of steps) this.logToStderr(`  ${step}`);
    }
    return { ...result, ...pins, nextSteps: steps };
  }
}

/** How long `iii init` waits for registries to say what the base images' tags point to. */
const PIN_TIMEOUT_MS = 5_000;
