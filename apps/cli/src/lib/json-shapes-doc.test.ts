import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { renderJsonShapes } from './json-shapes-doc.js';

describe('the --json reference page', () => {
  it('is current: docs/json-output.md is what the schemas generate (run `npm run docs:json`)', async () => {
    const page = await readFile(new URL('../../../../docs/json-output.md', import.meta.url), 'utf8');
    expect(page).toBe(renderJsonShapes());
  });

  it('lists nested and listed keys with their types, and says when a value may be null', () => {
    const schema = z.object({
      a: z.number().nullable().describe('A number.'),
      b: z.array(z.object({ c: z.string().describe('C | text.') })).describe('Bs.'),
      d: z.object({ e: z.boolean().describe('E.') }).describe('D.'),
    });
    const text = renderJsonShapes([{ command: 'iii x', schema }]);
    expect(text).toContain('| `a` | number \\| null | A number. |');
    expect(text).toContain('| `b` | object[] | Bs. |');
    expect(text).toContain('| `b[].c` | string | C \\| text. |');
    expect(text).toContain('| `d.e` | boolean | E. |');
  });
});
