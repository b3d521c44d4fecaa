import { statSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Orders the test files of all projects together, the longest first, so that with several files at
 * once the slow end-to-end files start early instead of forming a tail at the end. vitest's own order
 * runs the projects one after another (by name), which puts the `tools` project, and its release
 * test, last. A file's length is its duration in the last local run when every file has one, else its
 * size: a fresh clone (as on CI) has no previous run.
 */
export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const key = (f: TestSpecification) => `${f.project.name}:${relative(this.ctx.config.root, f.moduleId)}`;
    const durations = files.map((f) => this.ctx.cache.getFileTestResults(key(f))?.duration);
    const useDurations = durations.every((d) => typeof d === 'number');
    const cost = new Map(
      files.map((f, i) => [f, useDurations ? (durations[i] as number) : sizeOf(f.moduleId)] as const),
    );
    return [...files].sort(
      (a, b) =>
        a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder ||
        (cost.get(b) ?? 0) - (cost.get(a) ?? 0),
    );
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
