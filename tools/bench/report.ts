import type { Measurement } from './types.ts';

export interface PeerRatio {
  peer: string;
  median: number;
  /** ours / peer, on medians. */
  ratio: number;
  target?: string;
  met?: boolean;
}

export interface Summary {
  name: string;
  unit: string;
  median: number;
  samples: number;
  peers: PeerRatio[];
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(m: Measurement): Summary {
  const ours = median(m.ours);
  const peers = Object.entries(m.peers).map(([peer, samples]): PeerRatio => {
    const med = median(samples);
    const ratio = ours / med;
    const r: PeerRatio = { peer, median: med, ratio };
    if (m.target?.peer === peer) {
      if (m.target.max !== undefined) {
        r.target = `<= ${m.target.max}x`;
        r.met = ratio <= m.target.max;
      } else if (m.target.min !== undefined) {
        r.target = `>= ${m.target.min}x`;
        r.met = ratio >= m.target.min;
      }
    }
    return r;
  });
  return { name: m.name, unit: m.unit, median: ours, samples: m.ours.length, peers };
}

const fmt = (n: number): string =>
  Number.isFinite(n) ? (Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3)) : '-';

/** A plain-text table: one row per (measurement, peer) with both medians and the ratio ours/peer. */
export function formatTable(rows: Summary[]): string {
  const lines: string[][] = [['measurement', 'ours', 'peer', 'peer median', 'ours/peer', 'target']];
  for (const s of rows) {
    const ours = `${fmt(s.median)} ${s.unit}`;
    if (s.peers.length === 0) lines.push([s.name, ours, '-', '-', '-', '-']);
    for (const p of s.peers) {
      const target = p.target ? `${p.target} ${p.met ? 'met' : 'MISSED'}` : '-';
      lines.push([s.name, ours, p.peer, `${fmt(p.median)} ${s.unit}`, `${p.ratio.toFixed(2)}x`, target]);
    }
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines
    .map((l) =>
      l
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
