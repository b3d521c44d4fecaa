import type { TemplateLanguage } from './language.js';

/** What {@link nextSteps} needs: the language, the worker name and how to reach the project. */
export interface NextStepsOptions {
  /** The project's language (every template takes the same steps today). */
  lang: TemplateLanguage;
  name: string;
  /** How the user reaches the project from where they are, e.g. `my-worker`. */
  dir: string;
}

/** The shell commands that take a fresh project to a running worker, in order (the same for every language). */
export function nextSteps({ name, dir }: NextStepsOptions): string[] {
  const tag = `${name}:0.1.0`;
  // Every template builds its worker inside the image, so no language needs a step of its own here.
  const steps = dir === '.' ? [] : [`cd ${quote(dir)}`];
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
