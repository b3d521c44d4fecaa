// Lints every public package the way it will be published: `publint --strict` (package.json against
// the packed files) and `attw --pack` (its typings resolve for import and require(), node10, node16
// and bundlers). Run after a build: `npm run check:packages`. Exits 1 if any package has a problem.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { publicPackages, repoRoot } from './packages.ts';

const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
let failed = 0;
for (const pkg of publicPackages()) {
  for (const [tool, args] of [
    ['publint', ['--strict']],
    // node16 profile: the packages need Node >= 20.19, so TypeScript's legacy node10 resolution (which ignores
    // subpath exports such as @iii/engine/client) is not a way they are used.
    ['attw', ['--pack', '.', '--profile', 'node16', '--format', 'table-flipped']],
  ] as const) {
    const run = spawnSync(bin(tool), args, {
      cwd: pkg.dir,
      encoding: 'utf8',
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    if (run.status === 0) {
      console.log(`ok   ${tool} ${pkg.name}`);
    } else {
      failed += 1;
      console.log(`FAIL ${tool} ${pkg.name}\n${run.stdout}${run.stderr}`);
    }
  }
}
if (failed > 0) {
  console.error(`check-packages: ${failed} problem(s); see above`);
  process.exit(1);
}
