import { ensureHome, resolveConfigPath } from '@iii/config';
import type { ExportFile, ExportPlan, ExportTarget } from '@iii/export';
import { ImageStore, RegistryClient } from '@iii/oci';
import { Flags } from '@oclif/core';
import { retryLine } from './progress.js';
import { configFlag } from './worker-flags.js';

/** The flags `iii export kubernetes` and `iii export compose` share. */
export const exportFlags = {
  config: configFlag,
  output: Flags.string({
    char: 'o',
    description:
      'Write to this file, or into this directory one file each (a path ending in / is created). Default: stdout.',
    helpValue: '<file|dir>',
  }),
  'engine-image': Flags.string({
    description: 'Engine image to run next to the workers (built from the Dockerfile of the iii CLI).',
    helpValue: '<ref>',
  }),
  'engine-url': Flags.string({
    description: 'Let the workers dial an engine that already runs at this address; no engine is exported.',
    helpValue: '<ws://host:port>',
    exclusive: ['engine-image'],
  }),
  'inline-env': Flags.boolean({
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${VAR} syntax of config.yaml, shown to users.
    description: 'Write the values of ${VAR} from this shell into the output instead of referencing them.',
    default: false,
  }),
  'push-to': Flags.string({
    description:
      'Push images that exist on this machine only to <registry/prefix>/<worker> and use their digests.',
    helpValue: '<registry/prefix>',
  }),
  insecure: Flags.boolean({
    description: 'With --push-to: allow plain HTTP and unverified TLS to the registry.',
    default: false,
  }),
};

export interface ExportFlagValues {
  config?: string | undefined;
  'engine-image'?: string | undefined;
  'engine-url'?: string | undefined;
  'inline-env': boolean;
  'push-to'?: string | undefined;
  insecure: boolean;
}

/** Plans the export of config.yaml for `target`, pushing local images when asked. */
export async function planFromFlags(
  target: ExportTarget,
  flags: ExportFlagValues,
  namespace?: string,
): Promise<ExportPlan> {
  const { planExport } = await import('@iii/export');
  const configPath = resolveConfigPath({ flag: flags.config });
  const paths = await ensureHome();
  const report = (line: string) => process.stderr.write(`${line}\n`);
  return planExport({
    configPath,
    store: new ImageStore(paths.store),
    target,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(flags['engine-image'] !== undefined ? { engineImage: flags['engine-image'] } : {}),
    ...(flags['engine-url'] !== undefined ? { engineUrl: flags['engine-url'] } : {}),
    ...(flags['inline-env'] ? { inlineEnv: process.env } : {}),
    ...(flags['push-to'] !== undefined
      ? {
          pushTo: flags['push-to'],
          client: new RegistryClient({ insecure: flags.insecure, onRetry: (e) => report(retryLine(e)) }),
          onPushed: (worker, reference) => report(`Pushed ${worker}: ${reference}`),
        }
      : {}),
  });
}

/** Writes the files to -o, or prints them on stdout (warnings and instructions go to stderr). */
export async function emitFiles(output: string | undefined, files: ExportFile[]): Promise<void> {
  const { joinFiles, writeExport } = await import('@iii/export');
  if (output === undefined) {
    process.stdout.write(joinFiles(files));
    return;
  }
  for (const file of await writeExport(output, files)) process.stderr.write(`Wrote ${file}\n`);
}
