import { Flags } from '@oclif/core';

/** `--config`, shared by every command that reads config.yaml. */
export const configFlag = Flags.string({
  char: 'c',
  description: 'Path of config.yaml (default $III_CONFIG_PATH, then ./config.yaml).',
  helpValue: '<file>',
});

/** `--project-name` of `iii start`: the name `iii ls` shows instead of the directory's. */
export const projectNameFlag = Flags.string({
  description:
    "Name of the project, as `iii ls` shows it (default $III_PROJECT_NAME, then config.yaml's directory name).",
  helpValue: '<name>',
});

/** `-y`, shared by the commands that delete something. */
export const yesFlag = Flags.boolean({
  char: 'y',
  description: 'Do not ask for confirmation (required when not on a terminal).',
  default: false,
});

/** `--timeout` of stop and restart: the grace period between SIGTERM and SIGKILL. */
export const graceTimeoutFlag = Flags.string({
  char: 't',
  description: 'Grace period between SIGTERM and SIGKILL (e.g. 10s, 1m, 500ms).',
  default: '10s',
});

/**
 * `--engine-url`, for the commands that manage a running `iii`: manage the engine at this address
 * (another machine's) instead of this `$III_HOME`'s, presenting `$III_TOKEN`. Its variable is not
 * `III_ENGINE_URL`, which `iii` sets inside every worker as the address the worker dials.
 */
export const engineUrlFlag = Flags.string({
  description: 'Manage the engine at this address instead of the local one; its token comes from $III_TOKEN.',
  env: 'III_CLI_ENGINE_URL',
  helpValue: '<ws://host:port>',
});
