import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { requireTools, runCommand } from '@iii/tools/test-env';

export interface TestLayerFile {
  path: string;
  /** Content, or a byte count of random (incompressible) content. */
  content: string | number;
}

/**
 * Builds an OCI layout image with umoci (a tool other than ours), one layer per entry of `layers`,
 * so tests read images written by the ecosystem and not only by our own writer.
 */
export async function buildLayoutImage(
  layoutDir: string,
  tag: string,
  layers: TestLayerFile[][],
  config: { env?: string[]; cmd?: string } = {},
): Promise<void> {
  requireTools(['umoci']);
  await runCommand('umoci', ['init', '--layout', layoutDir]).catch(() => undefined);
  await runCommand('umoci', ['new', '--image', `${layoutDir}:${tag}`]);
  const work = await mkdtemp(join(dirname(layoutDir), 'layer-src-'));
  try {
    for (const [i, files] of layers.entries()) {
      const src = join(work, String(i));
      for (const f of files) {
        await mkdir(dirname(join(src, f.path)), { recursive: true });
        await writeFile(
          join(src, f.path),
          typeof f.content === 'number' ? randomBytes(f.content) : f.content,
        );
      }
      await mkdir(src, { recursive: true });
      // Inserting at '/' would put a '/' entry into the layer tar, so each test layer has one top-level
      // entry, inserted at its own path.
      const tops = [...new Set(files.map((f) => f.path.split('/')[0]!))];
      if (tops.length !== 1) throw new Error('a test layer holds exactly one top-level path');
      await runCommand('umoci', [
        'insert',
        '--image',
        `${layoutDir}:${tag}`,
        join(src, tops[0]!),
        `/${tops[0]}`,
      ]);
    }
    const args = ['config', '--image', `${layoutDir}:${tag}`];
    for (const e of config.env ?? []) args.push('--config.env', e);
    if (config.cmd) args.push('--config.cmd', config.cmd);
    if (args.length > 3) await runCommand('umoci', args);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
