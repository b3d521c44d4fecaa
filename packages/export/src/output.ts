import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@iii/config';
import { stringify } from 'yaml';
import type { ComposeExport } from './compose.js';
import { OutputError } from './errors.js';
import type { KubernetesExport } from './kubernetes.js';

/** One file of an export: its name when written into a directory, and its YAML. */
export interface ExportFile {
  name: string;
  text: string;
}

/**
 * YAML as both YAML 1.1 and 1.2 readers take it: strings such as `no`, `on` or `1` are quoted, so
 * `kubectl`, Compose and podman never read them as booleans or numbers. Long lines are never folded.
 */
export function toYaml(value: unknown): string {
  return stringify(value, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
}

/** One file per object (`deployment-<name>.yaml`, ...), in the order they are applied. */
export function kubernetesFiles(exp: KubernetesExport): ExportFile[] {
  return exp.objects.map((o) => ({
    name: `${o.kind.toLowerCase()}-${o.metadata?.name ?? 'object'}.yaml`,
    text: toYaml(o),
  }));
}

/** The files of a Compose export (`compose.yaml`). */
export function composeFiles(exp: ComposeExport): ExportFile[] {
  return [{ name: 'compose.yaml', text: toYaml(exp.file) }];
}

/** All files as one multi-document YAML stream. */
export function joinFiles(files: readonly ExportFile[]): string {
  return files.map((f) => f.text).join('---\n');
}

/**
 * Writes the export to `path`: into it, one file each, when it is a directory (or ends with `/`,
 * then it is created); else as one file. Each file is written atomically.
 */
export async function writeExport(path: string, files: readonly ExportFile[]): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  const isDir = info?.isDirectory() ?? path.endsWith('/');
  if (isDir) {
    await mkdir(path, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw new OutputError(path, err.message);
    });
    const written: string[] = [];
    for (const f of files) {
      const file = join(path, f.name);
      await writeFileAtomic(file, f.text).catch((err: NodeJS.ErrnoException) => {
        throw new OutputError(file, err.message);
      });
      written.push(file);
    }
    return written;
  }
  await writeFileAtomic(path, joinFiles(files)).catch((err: NodeJS.ErrnoException) => {
    throw new OutputError(path, err.message);
  });
  return [path];
}
