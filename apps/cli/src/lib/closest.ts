import { distance } from 'fastest-levenshtein';

/** The candidate nearest to `input` by edit distance, if it is near enough to be what the user meant. */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const dist = distance(input, c);
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  // Two edits are always allowed, so a swap of neighbouring letters (two edits) is still a typo.
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(input.length / 3)) ? best : undefined;
}
