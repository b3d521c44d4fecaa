import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TemplateLanguage } from './language.js';

/**
 * Where a language's template files are. They ship in the package's `templates/` folder, found
 * through the package's name: the `iii` executable bundles this module into files of its own, so
 * a path relative to this module would point into the executable's dist.
 */
export function templateDir(lang: TemplateLanguage): string {
  const packageJson = createRequire(import.meta.url).resolve('@iii/templates/package.json');
  return `${join(dirname(packageJson), 'templates', lang)}/`;
}
