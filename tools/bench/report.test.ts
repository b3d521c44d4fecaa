import { describe, expect, it } from 'vitest';
import { formatTable, median, summarize } from './report.ts';

describe('bench report', () => {
  it('takes the median of odd and even sample counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('computes ours/peer on medians and checks a duration target', () => {
    const s = summarize({
      name: 'pull',
      unit: 'ms',
      ours: [100, 110, 90],
      peers: { 'skopeo+umoci': [400, 420, 380], 'curl|tar': [80, 80, 80] },
      target: { peer: 'skopeo+umoci', max: 0.5 },
    });
    expect(s.peers.find((p) => p.peer === 'skopeo+umoci')).toMatchObject({ ratio: 0.25, met: true });
    expect(s.peers.find((p) => p.peer === 'curl|tar')?.ratio).toBe(1.25);
    const table = formatTable([s]);
    expect(table).toContain('0.25x');
    expect(table).toContain('<= 0.5x met');
  });

  it('reports a missed throughput target', () => {
    const s = summarize({
      name: 'invocations',
      unit: 'ops/s',
      ours: [40],
      peers: { 'raw ws echo': [100] },
      higherIsBetter: true,
      target: { peer: 'raw ws echo', min: 0.5 },
    });
    expect(s.peers[0]).toMatchObject({ ratio: 0.4, met: false });
  });
});
