import { UnknownLanguageError } from './errors.js';

/** The languages `iii init` can scaffold a worker in. */
export const templateLanguages = ['node', 'python', 'rust'] as const;

export type TemplateLanguage = (typeof templateLanguages)[number];

export function isTemplateLanguage(value: string): value is TemplateLanguage {
  return (templateLanguages as readonly string[]).includes(value);
}

export function parseTemplateLanguage(value: string): TemplateLanguage {
  if (!isTemplateLanguage(value)) throw new UnknownLanguageError(value, templateLanguages);
  return value;
}
