import { iiiPaths } from '@iii/config';
import { checkHost, type HostCheck, type HostCheckItem } from '@iii/engine';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';

export default class SystemCheck extends BaseCommand {
  static override summary = 'Show what this host gives worker sandboxes, and how to fix what is missing.';
  static override description =
    'Runs probe containers as `iii` would and prints the OCI runtime and its version, whether workers run rootful or rootless, the user namespace id mapping, how worker root filesystems are made, the cgroup version and whether cpus and memory limits are enforced, the network modes, and the init run as PID 1 of each worker (tini). Each missing part comes with a hint. Exits 1 when workers cannot run here.';
  static override examples = ['<%= config.bin %> system check', '<%= config.bin %> system check --json'];
  static override enableJsonFlag = true;
  static override flags = {
    runtime: Flags.string({
      description:
        'OCI runtime to check (runc, crun or a path); default $III_RUNTIME, else the first that works.',
    }),
  };

  async run(): Promise<HostCheck> {
    const { flags } = await this.parse(SystemCheck);
    const paths = iiiPaths();
    const result = await checkHost({
      stateDir: paths.sandbox,
      ...(flags.runtime ? { runtime: flags.runtime } : {}),
    });
    if (!this.jsonEnabled()) this.print(result);
    if (!result.ok) process.exitCode = 1;
    return result;
  }

  private print(r: HostCheck): void {
    const lines: string[] = [];
    const row = (label: string, item: HostCheckItem) => {
      lines.push(`${`${label}:`.padEnd(18)}${item.ok ? '' : 'MISSING: '}${item.value}`);
      if (item.hint) lines.push(`${''.padEnd(18)}hint: ${item.hint}`);
    };
    lines.push(`${'Mode:'.padEnd(18)}${r.mode} (uid ${r.user.uid}, ${r.user.name})`);
    row('Runtime', r.runtime);
    row('User namespace', r.userNamespace);
    if (r.userNamespace.uidMap)
      lines.push(
        `${'Id map:'.padEnd(18)}uids ${r.userNamespace.uidMap}; gids ${r.userNamespace.gidMap ?? ''}`,
      );
    if (r.userNamespace.subordinateIds)
      lines.push(`${'Subordinate ids:'.padEnd(18)}${r.userNamespace.subordinateIds}`);
    row('Root fs', r.rootfs);
    row('Cgroups', r.cgroup);
    row('Network', r.network);
    row('Init', r.init);
    lines.push(
      r.ok ? 'Workers can run here.' : 'Workers cannot run here until the parts marked MISSING are fixed.',
    );
    this.log(lines.join('\n'));
  }
}
