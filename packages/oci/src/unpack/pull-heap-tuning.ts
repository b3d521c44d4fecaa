import { setFlagsFromString } from 'node:v8';

/**
 * V8's heap growing factor, as a percentage, while a pull runs: after each full GC, the old
 * generation may grow to 5x its live size before the next one.
 *
 * Why: a pull streams its bytes through short-lived Buffers (socket reads, gunzip output). V8 counts
 * the memory of Buffers allocated since the last full GC against the old generation's limit, and in
 * a heap of a few MB that limit sits only ~16 MB above the live size. So V8 ran a full mark-compact
 * every ~16 MB that went through: about 12 per ~100 MB image, ~250 ms of GC threads' CPU in a pull
 * of ~600 ms. With the wider limit, the young-generation GCs, which free those Buffers, come first.
 */
const PULL_HEAP_GROWING_PERCENT = 400;

const FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

// Process-wide, like the V8 flag it guards: the pulls running under it now.
let running = 0;
let applied = false;

/**
 * Whether the process was started with its own `--heap-growing-percent`, which then stays (node
 * refuses it in NODE_OPTIONS, so the command line is the only place to look).
 */
function chosenByUser(): boolean {
  return process.execArgv.some((arg) => FLAG.test(arg));
}

/**
 * Runs `fn` (a pull, an unpack, or both) with V8's heap growing factor raised to
 * {@link PULL_HEAP_GROWING_PERCENT}, and gives V8 back its own, dynamic factor once the last of the
 * overlapping calls ends. V8 applies a factor when a full GC sets the next limit, so the wider
 * limit of the last full GC during the pull holds until the next one.
 *
 * This changes a process-wide V8 setting, which is why it is opt-in: the `iii` CLI uses it, and a
 * host process that tunes its heap itself need not. A process started with its own
 * `--heap-growing-percent` keeps it.
 */
export async function withPullHeapTuning<T>(fn: () => Promise<T>): Promise<T> {
  if (running === 0 && !chosenByUser()) {
    setFlagsFromString(`--heap-growing-percent=${PULL_HEAP_GROWING_PERCENT}`);
    applied = true;
  }
  running += 1;
  try {
    return await fn();
  } finally {
    running -= 1;
    if (running === 0 && applied) {
      // 0 is V8's default: the factor is computed from GC and allocation speed again.
      setFlagsFromString('--heap-growing-percent=0');
      applied = false;
    }
  }
}
