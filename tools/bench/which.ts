import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** The names among `tools` that are not executable anywhere on PATH. */
export async function missingTools(tools: string[]): Promise<string[]> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const missing: string[] = [];
  for (const tool of tools) {
    let found = false;
    for (const dir of dirs) {
      try {
        await access(join(dir, tool), constants.X_OK);
        found = true;
        break;
      } catch {}
    }
    if (!found) missing.push(tool);
  }
  return missing;
}
