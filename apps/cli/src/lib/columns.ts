/**
 * Lines of a plain text table: each column as wide as its widest cell, three spaces between
 * columns, the last column unpadded, no trailing blanks (what `docker ps` prints, and what scripts
 * that cut columns expect). One implementation for every table the CLI prints.
 */
export function formatColumns(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd(),
  );
}
