/**
 * A message for the person at the terminal. It goes to stderr even with --json (oclif's own
 * logToStderr is silent then), so stdout carries only the JSON document.
 */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}
