// Unpacks one image several times in a process of its own and prints, as JSON, how many full
// (mark-compact) GCs each unpack took: V8 flags are process-wide, so the test of
// withPullHeapTuning must not share a process with other tests.
// Usage: node --import tsx test/heap-tuning-process.ts <image> <work-dir> <plan>
// where <plan> is a comma-separated list of steps: `plain`, `tuned`, or `nested` (an unpack tuned by
// a call that outlives another, shorter one), each printing a count; and `full-gc` (one full GC,
// nothing printed; needs node's --expose-gc).
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { openImage, unpackImage, withPullHeapTuning } from '../src/index.js';

const [source, workDir, plan] = process.argv.slice(2) as [string, string, string];
let fullGcs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    // A 'gc' entry's detail says which kind of GC it was.
    const { detail } = entry as { detail?: { kind?: number } };
    if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullGcs += 1;
  }
}).observe({ entryTypes: ['gc'] });

// GC entries are delivered asynchronously: wait for them before reading the count.
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

const image = await openImage(source);
const counts: number[] = [];
for (const step of plan.split(',')) {
  if (step === 'full-gc') {
    const { gc } = globalThis as { gc?: () => void };
    if (!gc) throw new Error('full-gc needs node --expose-gc');
    gc();
    await settle();
    continue;
  }
  const rootfsCache = await mkdtemp(join(workDir, 'rootfs-'));
  const before = fullGcs;
  const unpack = () => unpackImage(image, rootfsCache);
  if (step === 'plain') await unpack();
  else if (step === 'tuned') await withPullHeapTuning(unpack);
  else if (step === 'nested')
    await withPullHeapTuning(async () => {
      await withPullHeapTuning(async () => {});
      await unpack();
    });
  else throw new Error(`unknown step ${step}`);
  await settle();
  counts.push(fullGcs - before);
}
process.stdout.write(`${JSON.stringify(counts)}\n`);
