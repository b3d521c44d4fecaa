import { Args, Flags } from '@oclif/core';

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

/** The worker name argument of the commands that act on one worker. */
export const workerNameArg = Args.string({ description: 'Worker name, as in config.yaml.', required: true });

/** `--timeout` of stop and restart: the grace period between SIGTERM and SIGKILL. */
export const graceTimeoutFlag = Flags.string({
  char: 't',
  description: 'Grace period between SIGTERM and SIGKILL (e.g. 10s, 1m, 500ms).',
  default: '10s',
});
