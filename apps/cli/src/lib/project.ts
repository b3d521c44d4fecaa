import { iiiPaths, type ProjectPaths, projectPaths, resolveConfigPath } from '@iii/config';
import { usageError } from './usage-error.js';

/**
 * The project a command is about: its config.yaml from `--config`, else `$III_CONFIG_PATH`, else
 * `./config.yaml`, in this `$III_HOME`. Every command acts on this project's engine and sandboxes
 * only. A bad `--project-name` / `$III_PROJECT_NAME` is a usage error.
 */
export function currentProject(
  flags: { config?: string | undefined; projectName?: string | undefined } = {},
): ProjectPaths {
  try {
    return projectPaths({
      home: iiiPaths().home,
      configPath: resolveConfigPath({ flag: flags.config }),
      ...(flags.projectName !== undefined ? { name: flags.projectName } : {}),
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'INVALID_PROJECT_NAME') throw usageError(err);
    throw err;
  }
}
