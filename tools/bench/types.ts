/**
 * The contract between the bench runner (run.ts) and its cases (cases/*.ts).
 *
 * A case measures our implementation and one or more peer tools on the same data in the same run,
 * several times each, and returns the raw samples; the runner computes medians and ratios and prints them.
 */
export interface BenchContext {
  /** How many timed repetitions each measurement should take (after one untimed warm-up when cheap). */
  runs: number;
  /** A scratch directory for this case, emptied before the case runs and kept afterwards for inspection. */
  workDir: string;
  /** The repository root, to find built binaries and fixtures. */
  repoRoot: string;
  /** Progress messages for the person watching (go to stderr). */
  log(message: string): void;
  signal: AbortSignal;
}

export interface Measurement {
  /** What was measured, e.g. `pull 100 MB image (5 layers)`. */
  name: string;
  /** Unit of every sample: `ms` for durations, `ops/s` for throughput, `MB` for memory, etc. */
  unit: string;
  /** Samples of ours. */
  ours: number[];
  /** Samples of each peer on the same data, by peer name (`skopeo+umoci`, `curl|tar`, `raw ws echo`). */
  peers: Record<string, number[]>;
  /** True for throughput-like units where more is better; durations and memory default to false. */
  higherIsBetter?: boolean;
  /**
   * The issue's target, if any, as a ratio of medians ours/peer: `max` for durations (ours at most
   * max x the peer), `min` for throughput (ours at least min x the peer). Reported, never enforced.
   */
  target?: { peer: string; max?: number; min?: number };
}

export interface BenchCase {
  name: string;
  description: string;
  /** Tools the case needs on PATH; the runner reports missing ones with the install command. */
  requires?: string[];
  run(ctx: BenchContext): Promise<Measurement[]>;
}
