import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { copiesContextDist } from './build-image.js';

describe('copiesContextDist', () => {
  it("is true for the Node template's Dockerfile, which copies the bundle from dist/", async () => {
    const text = await readFile(new URL('../../templates/node/Dockerfile', import.meta.url), 'utf8');
    expect(copiesContextDist(text)).toBe(true);
    expect(copiesContextDist('COPY --chown=1000 ./dist/ /app/')).toBe(true);
  });

  it('is false for a Dockerfile that builds inside the image', async () => {
    const text = await readFile(new URL('../../../../apps/cli/Dockerfile', import.meta.url), 'utf8');
    expect(copiesContextDist(text)).toBe(false);
    expect(copiesContextDist('COPY --from=build /src/dist /app/dist')).toBe(false);
    expect(copiesContextDist('COPY distribution.txt /x')).toBe(false);
  });
});
