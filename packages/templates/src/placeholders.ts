import { TemplatePlaceholderError } from './errors.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;

/**
 * Replaces `{{key}}` with its value. An unknown key is an error rather than left in place, so a
 * template typo never reaches a user's project.
 */
export function fillPlaceholders(
  text: string,
  values: Readonly<Record<string, string>>,
  file: string,
): string {
  return text.replace(PLACEHOLDER, (_match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new TemplatePlaceholderError(file, key);
    return value;
  });
}
