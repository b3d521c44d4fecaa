import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publicPackages, repoRoot } from './packages.ts';

const license = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');

describe('every public package is ready to publish', () => {
  const packages = publicPackages();
  const names = new Set(packages.map((p) => p.name));

  it('finds the packages users install', () => {
    expect([...names]).toEqual(expect.arrayContaining(['@iii/cli', '@iii/config', '@iii/oci', '@iii/sdk']));
  });

  it.each(packages.map((p) => [p.name, p] as const))('%s', (_, pkg) => {
    const m = pkg.manifest as {
      license?: string;
      files?: string[];
      repository?: unknown;
      homepage?: string;
      bugs?: unknown;
      publishConfig?: unknown;
      engines?: unknown;
      exports?: Record<string, unknown>;
    };
    expect(m.license).toBe('Apache-2.0');
    expect(readFileSync(join(pkg.dir, 'LICENSE'), 'utf8')).toBe(license);
    expect(existsSync(join(pkg.dir, 'README.md'))).toBe(true);
    expect(m.files).toEqual(expect.arrayContaining(['dist', 'README.md', 'LICENSE']));
    // npm provenance checks that the package names the repository it was built from.
    expect(m.repository).toEqual({
      type: 'git',
      url: 'git+https://github.com/iii-hq/iii-toolkit.git',
      directory: pkg.path,
    });
    expect(m.homepage).toBe(`https://github.com/iii-hq/iii-toolkit/tree/main/${pkg.path}#readme`);
    expect(m.bugs).toEqual({ url: 'https://github.com/iii-hq/iii-toolkit/issues' });
    expect(m.publishConfig).toEqual({ access: 'public' });
    expect(m.engines).toEqual({ node: '>=20.19' });
    expect(m.exports?.['.']).toEqual({
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    });
    // Sibling packages are depended on at the version they are published with (changesets keeps it so).
    for (const [dep, range] of Object.entries(pkg.manifest.dependencies ?? {})) {
      const sibling = packages.find((p) => p.name === dep);
      if (sibling) expect(range, `${pkg.name} -> ${dep}`).toBe(`^${sibling.version}`);
    }
  });

  it('releases every public package with one version (a changesets fixed group)', () => {
    const config = JSON.parse(readFileSync(join(repoRoot, '.changeset', 'config.json'), 'utf8'));
    expect(new Set(packages.map((p) => p.version)).size).toBe(1);
    expect(config.fixed).toEqual([['@iii/*']]);
    expect(config.ignore).toEqual([]);
  });
});
