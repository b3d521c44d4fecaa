// The command reference of apps/cli/README.md, generated from the built commands (see readme.ts).
// Only iii's own commands are listed: `help`, `autocomplete` and `plugins` come from
// oclif's plugins, change with their versions and are described once in the README's prose, so a
// dependency update cannot make the page stale. The usage block is kept by hand (oclif's names the
// machine's platform and Node version), and there are no source links (they name the version).
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';

const cliRoot = fileURLToPath(new URL('..', import.meta.url));
export const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));

/** README.md as the built commands of `@iii/cli` generate it. */
export async function renderReadme(): Promise<string> {
  // oclif wraps help text at $COLUMNS (read when its module loads), else 120: fix it so the page is the same everywhere.
  process.env.COLUMNS = '120';
  // A CommonJS module: Node's default import is `module.exports`, whose `default` is the class; Vite's
  // is the class itself.
  const loaded = (await import('oclif/lib/readme-generator.js')).default;
  type Generator = typeof loaded.default;
  const ReadmeGenerator = (loaded as { default?: Generator }).default ?? (loaded as unknown as Generator);
  const config = await Config.load({ root: cliRoot, devPlugins: false, userPlugins: false });
  const ours = config.pjson.name;
  for (const command of config.commands) {
    if (command.pluginName !== ours) command.hidden = true;
  }
  return new ReadmeGenerator(config, {
    aliases: false,
    dryRun: true,
    outputDir: 'docs',
    pluginDir: cliRoot,
    readmePath,
    sourceLinks: false,
  }).generate();
}
