import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { emitFiles, exportFlags, planFromFlags } from '../../lib/export-command.js';

export default class ExportKubernetes extends BaseCommand {
  static override summary = 'Write Kubernetes manifests that run the workers of config.yaml.';
  static override description =
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${VAR} syntax of config.yaml, shown to users.
    'One Deployment per worker (a Job for restart: never, a NetworkPolicy for network: none) with the image pinned by digest from iii.lock and the environment iii gives it, and the engine as a Deployment + Service. Values written as ${VAR} come from a Secret per worker; the command that creates it is printed on stderr. Apply the output with `kubectl apply -f`.';
  static override examples = [
    '<%= config.bin %> export kubernetes --engine-image ghcr.io/me/iii-engine@sha256:... | kubectl apply -f -',
    '<%= config.bin %> export kubernetes --engine-image ghcr.io/me/iii-engine:1 --namespace iii -o k8s/',
    '<%= config.bin %> export kubernetes --engine-url ws://iii.example.com:49134 -o workers.yaml',
    '<%= config.bin %> export kubernetes --engine-image ghcr.io/me/iii-engine:1 --push-to ghcr.io/me',
  ];
  static override flags = {
    ...exportFlags,
    namespace: Flags.string({
      char: 'n',
      description:
        'Namespace of every object (default: the one kubectl applies to). -n is --namespace here as in kubectl; elsewhere it is --name (add, init) or --tail (logs).',
      helpValue: '<name>',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ExportKubernetes);
    const plan = await planFromFlags('kubernetes', flags, flags.namespace);
    const { kubernetesExport, kubernetesFiles } = await import('@iii/export');
    const exp = kubernetesExport(plan);
    for (const w of exp.warnings) process.stderr.write(`Warning: ${w}\n`);
    await emitFiles(flags.output, kubernetesFiles(exp));
    if (exp.secrets.length > 0) {
      process.stderr.write(
        `\nBefore applying, create ${exp.secrets.length === 1 ? 'this Secret' : 'these Secrets'} from the variables config.yaml names (set them in your shell first):\n\n`,
      );
      for (const s of exp.secrets) process.stderr.write(`${s.command}\n\n`);
    }
  }
}
