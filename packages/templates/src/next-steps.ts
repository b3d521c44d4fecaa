import type { TemplateLanguage } from './language.js';

/** What {@link nextSteps} needs: the language, the worker name and how to reach the project. */
export interface NextStepsOptions {
  lang: TemplateLanguage;
  name: string;
  /** How the user reaches the project from where they are, e.g. `my-worker`. */
  dir: string;
}

/** The shell commands that take a fresh project to a running worker, in order. */
export function nextSteps({ lang, name, dir }: NextStepsOptions): string[] {
  const tag = `${name}:0.1.0`;
  const steps = dir === '.' ? [] : [`cd ${quote(dir)}`];
  if (lang === 'node') steps.push('npm install', 'npm run build');
  steps.push(
    `iii worker build -t ${tag}`,
    `iii worker add oci-layout:\${III_HOME:-$HOME/.iii}/builds/${name}:0.1.0`,
    'iii',
    `iii trigger ${name}::hello name=Ada`,
  );
  return steps;
}

function quote(path: string): string {
  return /^[A-Za-z0-9._/~-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
