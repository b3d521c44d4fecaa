import { BaseCommand } from '../base-command.js';

interface VersionResult {
  /** Version of @iii/cli. */
  version: string;
  /** `linux-x64`: the platform and architecture it runs on. */
  platform: string;
  /** Version of Node.js it runs on. */
  node: string;
}

export default class Version extends BaseCommand {
  static override summary = 'Print the version of iii.';
  static override description =
    'The same line as `iii --version` and `iii -v`: the package and its version, the platform and the Node.js version. --json gives them as keys.';
  static override examples = [
    '<%= config.bin %> version',
    '<%= config.bin %> -v',
    '<%= config.bin %> version --json',
  ];
  static override enableJsonFlag = true;

  async run(): Promise<VersionResult> {
    await this.parse(Version);
    if (!this.jsonEnabled()) this.log(this.config.userAgent);
    return {
      version: this.config.version,
      platform: `${this.config.platform}-${this.config.arch}`,
      node: process.version,
    };
  }
}
