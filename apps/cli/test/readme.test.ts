import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readmePath, renderReadme } from '../scripts/readme-doc.ts';

describe('the command reference of README.md', () => {
  it('is current: it is what the built commands generate (run `npm run docs:readme` after a build)', async () => {
    const generated = await renderReadme();
    expect(await readFile(readmePath, 'utf8')).toBe(generated);
    // Every command of iii itself, and none of oclif's plugins, whose reference is theirs.
    expect(generated).toContain('## `iii worker rollback NAME`');
    expect(generated).toContain('## `iii system df`');
    expect(generated).not.toContain('## `iii plugins');
  });
});
