import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The monorepo root (this file lives in tools/release). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface WorkspacePackage {
  name: string;
  version: string;
  /** Absolute directory. */
  dir: string;
  /** Directory relative to the repository root, e.g. `packages/oci`. */
  path: string;
  manifest: Record<string, unknown> & {
    private?: boolean;
    dependencies?: Record<string, string>;
  };
}

/** Every workspace package (`packages/*`, `apps/*`, `tools`), read from the root package.json. */
export function workspacePackages(root: string = repoRoot): WorkspacePackage[] {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  const dirs = workspaces.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [join(root, pattern)];
    const parent = join(root, pattern.slice(0, -2));
    return readdirSync(parent, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(parent, e.name));
  });
  const out: WorkspacePackage[] = [];
  for (const dir of dirs) {
    let manifest: WorkspacePackage['manifest'];
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    } catch {
      continue; // a directory without a package is not a workspace
    }
    out.push({
      name: String(manifest.name),
      version: String(manifest.version),
      dir,
      path: relative(root, dir),
      manifest,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The packages `npm run release` publishes: every workspace package not marked private. */
export function publicPackages(root: string = repoRoot): WorkspacePackage[] {
  return workspacePackages(root).filter((p) => p.manifest.private !== true);
}
