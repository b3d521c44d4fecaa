import { UnknownLanguageError } from './errors.js';

/** The languages `iii init` can scaffold a worker in. */
export const templateLanguages = ['node', 'python', 'rust'] as const;

/** A language `iii init` has a template for: node, python or rust. */
export type TemplateLanguage = (typeof templateLanguages)[number];

/** Whether a string names a {@link TemplateLanguage}. */
export function isTemplateLanguage(value: string): value is TemplateLanguage {
  return (templateLanguages as readonly string[]).includes(value);
}

/** The template language a string names; {@link UnknownLanguageError} for any other. */
export function parseTemplateLanguage(value: string): TemplateLanguage {
  if (!isTemplateLanguage(value)) throw new UnknownLanguageError(value, templateLanguages);
  return value;
}
