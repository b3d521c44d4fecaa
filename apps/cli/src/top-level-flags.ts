/** What oclif answers itself at the top level, as the command each names; every other leading flag is one of `iii start`'s. */
export const TOP_LEVEL_FLAGS: ReadonlyMap<string, 'help' | 'version'> = new Map([
  ['--help', 'help'],
  ['-h', 'help'],
  ['--version', 'version'],
  ['-v', 'version'],
]);
