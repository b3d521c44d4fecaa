import { fileURLToPath } from 'node:url';
import type { TemplateLanguage } from './language.js';

/**
 * Where a language's template files are. They ship in the package's `templates/` folder, next to
 * `dist/` (built) and `src/` (from source), so one relative path works for both.
 */
export function templateDir(lang: TemplateLanguage): string {
  return fileURLToPath(new URL(`../templates/${lang}/`, import.meta.url));
}
