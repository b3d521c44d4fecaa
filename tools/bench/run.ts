/**
 * `npm run bench [-- <case>...] [--runs N]`: runs every benchmark case (or the named ones), each
 * measuring ours and the peer tools on the same data in one run, and prints medians and ratios.
 * Results are also written to `.bench/results.json` for comparison between commits.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { formatTable, summarize } from './report.ts';
import type { BenchCase, Measurement } from './types.ts';
import { missingTools } from './which.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function loadCases(): Promise<BenchCase[]> {
  const dir = join(repoRoot, 'tools/bench/cases');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
  const cases: BenchCase[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { benchCase?: BenchCase };
    if (!mod.benchCase) throw new Error(`tools/bench/cases/${file} does not export \`benchCase\``);
    cases.push(mod.benchCase);
  }
  return cases;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { runs: { type: 'string', default: '5' }, list: { type: 'boolean', default: false } },
  });
  const runs = Number.parseInt(values.runs ?? '5', 10);
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write('Error: --runs takes a whole number of at least 1\n');
    return 2;
  }
  const all = await loadCases();
  if (values.list) {
    for (const c of all) process.stdout.write(`${c.name}\t${c.description}\n`);
    return 0;
  }
  const unknown = positionals.filter((p) => !all.some((c) => c.name === p));
  if (unknown.length > 0) {
    process.stderr.write(
      `Error: unknown bench case ${unknown.join(', ')}\nKnown: ${all.map((c) => c.name).join(', ')}\n`,
    );
    return 2;
  }
  const selected = positionals.length > 0 ? all.filter((c) => positionals.includes(c.name)) : all;
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());

  const results: Array<{ case: string; measurements: Measurement[] }> = [];
  let failed = 0;
  for (const c of selected) {
    const missing = await missingTools(c.requires ?? []);
    if (missing.length > 0) {
      process.stderr.write(
        `Error: bench case ${c.name} needs ${missing.join(', ')}\nInstall them with: bash tools/test-env/install.sh\n`,
      );
      failed++;
      continue;
    }
    const workDir = join(repoRoot, '.bench', c.name);
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    process.stderr.write(`\n== ${c.name}: ${c.description}\n`);
    try {
      const measurements = await c.run({
        runs,
        workDir,
        repoRoot,
        signal: controller.signal,
        log: (m) => process.stderr.write(`   ${m}\n`),
      });
      results.push({ case: c.name, measurements });
      process.stdout.write(`\n${c.name}\n${formatTable(measurements.map(summarize))}\n`);
    } catch (err) {
      failed++;
      process.stderr.write(`Error: bench case ${c.name} failed: ${(err as Error).message}\n`);
    }
  }
  await mkdir(join(repoRoot, '.bench'), { recursive: true });
  const out = results.map((r) => ({ case: r.case, results: r.measurements.map(summarize) }));
  await writeFile(join(repoRoot, '.bench/results.json'), `${JSON.stringify(out, null, 2)}\n`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
