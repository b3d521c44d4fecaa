/** Text without terminal colour codes (oclif colours parts of its messages and help). */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
