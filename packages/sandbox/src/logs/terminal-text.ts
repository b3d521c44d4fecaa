// C0 controls but tab, DEL, and the C1 controls that some terminals also obey (0x9b is a CSI).
const CONTROL_RE = /[\x00-\x08\x0a-\x1f\x7f\x80-\x9f]/g;

/**
 * A worker's output made safe to print on a terminal: every control character (escape sequences
 * that retitle or clear the terminal, carriage returns that overwrite a line, bells) is shown as
 * `\xNN` of its UTF-8 bytes, as journalctl does; tabs and all printable text are unchanged.
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_RE, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join(''),
  );
}
