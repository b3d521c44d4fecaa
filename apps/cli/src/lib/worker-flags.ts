import { Flags } from '@oclif/core';

/** `--config`, shared by every command that reads config.yaml. */
export const configFlag = Flags.string({
  char: 'c',
  description: 'Path of config.yaml (default $III_CONFIG_PATH, then ./config.yaml).',
  helpValue: '<file>',
});

/** `-y`, shared by the commands that delete something. */
export const yesFlag = Flags.boolean({
  char: 'y',
  description: 'Do not ask for confirmation (required when not on a terminal).',
  default: false,
});
