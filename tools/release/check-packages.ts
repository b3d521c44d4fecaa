// Lints every public package the way it will be published: `publint --strict` (package.json against
// the packed files) and `attw --pack` (its typings resolve for import and require(), node10, node16
// and bundlers). Run after a build: `npm run check:packages`. Exits 1 if any package has a problem.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { publicPackages, repoRoot } from './packages.ts';

const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);

interface Check {
  tool: string;
  args: readonly string[];
  name: string;
  dir: string;
}

const tools = [
  ['publint', ['--strict']],
  // node16 profile: the packages need Node >= 20.19, so TypeScript's legacy node10 resolution (which ignores
  // subpath exports such as @iii/engine/client) is not a way they are used.
  ['attw', ['--pack', '.', '--profile', 'node16', '--format', 'table-flipped']],
] as const;

/** Runs one check; resolves with its verdict line (and output when it fails). */
function run({ tool, args, name, dir }: Check): Promise<{ ok: boolean; report: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin(tool), args, {
      cwd: dir,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (error) => resolve({ ok: false, report: `FAIL ${tool} ${name}\n${error.message}` }));
    child.on('close', (code) =>
      resolve(
        code === 0
          ? { ok: true, report: `ok   ${tool} ${name}` }
          : { ok: false, report: `FAIL ${tool} ${name}\n${output}` },
      ),
    );
  });
}

// Packages are checked a few at once (each in its own directory; the two tools of one package one
// after the other, as `attw --pack` leaves its tarball there for a moment), and the verdicts are
// printed in package order.
const packages = publicPackages();
const perPackage: { ok: boolean; report: string }[][] = [];
let next = 0;
const slots = Math.max(2, Math.min(4, availableParallelism()));
await Promise.all(
  Array.from({ length: slots }, async () => {
    while (next < packages.length) {
      const i = next++;
      const pkg = packages[i]!;
      perPackage[i] = [];
      for (const [tool, args] of tools)
        perPackage[i].push(await run({ tool, args, name: pkg.name, dir: pkg.dir }));
    }
  }),
);
const results = perPackage.flat();
for (const { report } of results) console.log(report);
const failed = results.filter((r) => !r.ok).length;
if (failed > 0) {
  console.error(`check-packages: ${failed} problem(s); see above`);
  process.exit(1);
}
