import { lstat } from 'node:fs/promises';
import { formatBytes, iiiPaths, loadConfig, resolveConfigPath } from '@iii/config';
import { ImageStore } from '@iii/oci';
import { diskUsage, TreeMeter } from '@iii/workers';
import { BaseCommand } from '../../base-command.js';
import { formatColumns } from '../../lib/columns.js';
import { type DfResult, dfSchema } from '../../lib/json-shapes.js';
import { currentProject } from '../../lib/project.js';
import { keptByPrune } from '../../lib/prune-keep.js';
import { configFlag } from '../../lib/worker-flags.js';

export default class SystemDf extends BaseCommand {
  static override summary = 'Show the disk space iii uses: images, unpacked images, sandboxes, logs.';
  static override description =
    'Measures $III_HOME as `du -sb --one-file-system` does, split into the image store (compressed), the unpacked images, the sandbox directories of the workers (with their logs) and the rest. Then, per image: its compressed and unpacked size, the bytes it shares with other images, and the workers pinned to it (or that would roll back to it); per worker: its sandbox and log sizes. The last line says what `iii worker prune` would free; `iii worker prune --dry-run` lists it.';
  static override examples = ['<%= config.bin %> system df', '<%= config.bin %> system df --json'];
  static override enableJsonFlag = true;
  static override flags = { config: configFlag };

  async run(): Promise<DfResult> {
    const { flags } = await this.parse(SystemDf);
    const paths = iiiPaths();
    const configPath = resolveConfigPath({ flag: flags.config });
    const state = await loadConfig(configPath).catch(() => undefined);
    // What prune keeps: every known project's pins and what running workers use (see `worker prune`).
    const { keep, rootfsInUse } = await keptByPrune(paths.home);
    // The shared store and rootfs cache, and the sandboxes of this project (one per config.yaml).
    const usage = await diskUsage({
      paths: { ...paths, sandbox: currentProject({ config: flags.config }).sandbox },
      store: new ImageStore(paths.store),
      workers: state?.doc.workers ?? [],
      lock: state?.lock,
      keep,
      ...(rootfsInUse ? { rootfsInUse } : {}),
    });
    const dev = (await lstat(paths.home).catch(() => undefined))?.dev;
    const total = await new TreeMeter(dev).size(paths.home);
    const parts = usage.store.bytes + usage.rootfs.bytes + usage.snapshots.bytes + usage.sandboxes.bytes;
    const result = dfSchema.parse({
      home: paths.home,
      total,
      ...usage,
      other: { bytes: Math.max(0, total - parts) },
    });
    if (!this.jsonEnabled()) this.print(result);
    return result;
  }

  private print(r: DfResult): void {
    const table = (header: string[], rows: string[][]) => {
      for (const line of formatColumns(header, rows)) this.log(line);
    };
    table(
      ['WHAT', 'SIZE', 'WHERE'],
      [
        ['images (compressed)', formatBytes(r.store.bytes), r.store.path],
        ['unpacked images', formatBytes(r.rootfs.bytes), r.rootfs.path],
        [`unpacked layers (${r.snapshots.count})`, formatBytes(r.snapshots.bytes), r.snapshots.path],
        ['sandboxes and logs', formatBytes(r.sandboxes.bytes), r.sandboxes.path],
        ['other', formatBytes(r.other.bytes), r.home],
        ['total', formatBytes(r.total), r.home],
      ],
    );
    if (r.images.length > 0) {
      this.log('');
      table(
        ['IMAGE', 'COMPRESSED', 'UNPACKED', 'SHARED', 'USED BY'],
        r.images.map((i) => [
          `${i.digest.slice(0, 19)}…${i.names[0] ? ` ${i.names[0]}` : ''}`,
          formatBytes(i.compressed),
          i.unpacked === null ? '-' : formatBytes(i.unpacked),
          formatBytes(i.shared),
          [
            ...i.workers,
            ...i.previousOf.map((w) => `${w} (previous)`),
            ...(i.prunable ? ['(unused: prune deletes it)'] : []),
          ].join(', ') || '-',
        ]),
      );
    }
    if (r.workers.length > 0) {
      this.log('');
      table(
        ['WORKER', 'SANDBOX', 'LOGS', 'NOTE'],
        r.workers.map((w) => [
          w.name,
          formatBytes(w.bytes),
          formatBytes(w.logs),
          w.prunable
            ? 'not in config.yaml: prune deletes it'
            : w.configured
              ? ''
              : 'not in config.yaml, running',
        ]),
      );
    }
    this.log('');
    this.log(
      r.reclaimable.total > 0
        ? `\`iii worker prune\` would free ${formatBytes(r.reclaimable.total)} (${formatBytes(r.reclaimable.images)} of images${r.reclaimable.merged > 0 ? `, of which ${formatBytes(r.reclaimable.merged)} merged copies of images that now run on their layer snapshots` : ''}, ${formatBytes(r.reclaimable.sandboxes)} of sandboxes and logs); \`iii worker prune --dry-run\` lists it.`
        : 'Nothing to prune.',
    );
  }
}
