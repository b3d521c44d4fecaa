import { iiiPaths, type ProjectPaths, projectPaths, rememberProject, resolveConfigPath } from '@iii/config';
import { note } from './note.js';
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

/**
 * Remembers that the project uses this `$III_HOME`'s store, so that a prune run for another project
 * keeps its images. A failure is said, not fatal: the command itself did its work.
 */
export async function rememberUse(project: ProjectPaths): Promise<void> {
  await rememberProject(project).catch((err: Error) =>
    note(
      `Warning: could not record that ${project.configPath} uses this $III_HOME (${err.message}); \`iii worker prune\` run for other projects may not keep its images.`,
    ),
  );
}
