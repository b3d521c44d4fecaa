import { BaseCommand } from '../../base-command.js';
import { emitFiles, exportFlags, planFromFlags } from '../../lib/export-command.js';

export default class ExportCompose extends BaseCommand {
  static override summary = 'Write a Compose file that runs the workers of config.yaml.';
  static override description =
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${VAR} syntax of config.yaml, shown to users.
    'One service per worker with the image pinned by digest from iii.lock and the environment iii gives it, and the engine as a service published on 127.0.0.1. Values written as ${VAR} stay Compose variables, filled when you run `docker compose up` (or `podman compose up`).';
  static override examples = [
    '<%= config.bin %> export compose --engine-image ghcr.io/me/iii-engine:1 -o compose.yaml',
    '<%= config.bin %> export compose --engine-url ws://iii.example.com:49134 -o compose.yaml',
  ];
  static override flags = exportFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(ExportCompose);
    const plan = await planFromFlags('compose', flags);
    const { composeExport, composeFiles } = await import('@iii/export');
    const exp = composeExport(plan);
    for (const w of exp.warnings) process.stderr.write(`Warning: ${w}\n`);
    await emitFiles(flags.output, composeFiles(exp));
    const variables = [...new Set(exp.variables.flatMap((v) => v.keys.flatMap((k) => k.variables)))];
    if (variables.length > 0) {
      process.stderr.write(
        `\nSet ${variables.join(', ')} in the environment of \`docker compose up\` (or in .env next to the file).\n`,
      );
    }
  }
}
