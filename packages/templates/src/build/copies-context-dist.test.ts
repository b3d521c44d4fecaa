import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { copiesContextDist } from './build-image.js';

describe('copiesContextDist', () => {
  it('is true for a Dockerfile that copies a bundle built on the host from dist/', () => {
    expect(copiesContextDist('FROM node:20-slim\nCOPY dist/worker.mjs /app/worker.mjs\n')).toBe(true);
    expect(copiesContextDist('COPY --chown=1000 ./dist/ /app/')).toBe(true);
  });

  it('is false for Dockerfiles that build inside the image, the Node template among them', async () => {
    for (const file of ['../../templates/node/Dockerfile', '../../../../apps/cli/Dockerfile']) {
      expect(copiesContextDist(await readFile(new URL(file, import.meta.url), 'utf8'))).toBe(false);
    }
    expect(copiesContextDist('COPY --from=build /src/dist /app/dist')).toBe(false);
    expect(copiesContextDist('COPY distribution.txt /x')).toBe(false);
  });
});
