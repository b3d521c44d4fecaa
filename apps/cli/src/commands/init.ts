import { createRequire } from 'node:module';
import { basename, relative, resolve } from 'node:path';
import { WORKER_SCHEMA_URL } from '@iii/config';
import { nextSteps, type RenderResult, render, templateLanguages } from '@iii/templates';
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
    'Scaffolds a worker in Node (TypeScript), Python or Rust: source that registers `<name>::hello` with the SDK of its language, a Dockerfile, .dockerignore, iii.worker.yaml with default resources, and a README with the build, push and add commands. The directory must be new or empty.';
  static override examples = [
    '<%= config.bin %> init greeter --lang node',
    '<%= config.bin %> init . --lang python --name image-resize',
    '<%= config.bin %> init workers/fast --lang rust',
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
  };

  async run(): Promise<RenderResult & { nextSteps: string[] }> {
    const { args, flags } = await this.parse(Init);
    const dir = resolve(args.dir);
    const name = flags.name ?? basename(dir);
    const result = await render({
      lang: flags.lang,
      name,
      dir,
      workerSchemaUrl: WORKER_SCHEMA_URL,
      ...(flags.lang === 'node' ? { sdkVersion: flags['sdk-version'] ?? defaultSdkVersion() } : {}),
    });
    const shown = relative(process.cwd(), dir) || '.';
    const steps = nextSteps({ lang: result.lang, name, dir: shown });
    if (!this.jsonEnabled()) {
      this.logToStderr(
        `Created the ${result.lang} worker ${name} in ${shown} (function ${result.functionId}):`,
      );
      for (const file of result.files) this.logToStderr(`  ${file}`);
      this.logToStderr('\nNext steps:');
      for (const step of steps) this.logToStderr(`  ${step}`);
    }
    return { ...result, nextSteps: steps };
  }
}
