import { join } from 'node:path';
import { iiiPaths } from '@iii/config';
import { EngineControlClient, listEngineRecords, type RunningProject } from '@iii/engine';
import { BaseCommand } from '../base-command.js';
import { formatColumns } from '../lib/columns.js';
import { formatUptime } from '../lib/format-uptime.js';

/** One running project, as `iii ls` shows it. Never its token. */
export interface ListedProject {
  name: string;
  configPath: string;
  address: string;
  pid: number;
  startedAt: string;
  uptimeMs: number;
  /** Null when its `iii` did not answer. */
  workers: { running: number; total: number } | null;
  /** Its engine.json (holds the token for `--engine-url` elsewhere; readable by its owner only). */
  record: string;
}

/** How long one engine may take to answer before its row says `?`. */
const ANSWER_MS = 5000;

async function describe(home: string, p: RunningProject, now: number): Promise<ListedProject> {
  let workers: ListedProject['workers'] = null;
  const client = new EngineControlClient(
    { address: p.address, token: p.token, source: 'record', record: p },
    ANSWER_MS,
  );
  try {
    const list = await client.list();
    workers = { running: list.filter((w) => w.status === 'running').length, total: list.length };
  } catch {
    // Listed anyway: its process lives; the row says its workers are unknown.
  } finally {
    await client.close().catch(() => {});
  }
  return {
    name: p.project ?? p.key,
    configPath: p.configPath,
    address: p.address,
    pid: p.pid,
    startedAt: p.startedAt,
    uptimeMs: Math.max(0, now - Date.parse(p.startedAt)),
    workers,
    record: join(iiiPaths({ env: { III_HOME: home } }).projects, p.key, 'engine.json'),
  };
}

export default class Ls extends BaseCommand {
  static override summary = 'List the projects whose iii runs with this $III_HOME.';
  static override description =
    'One row per running project (one config.yaml, one `iii`): NAME, WORKERS running/total, ADDRESS, UPTIME and CONFIG. Any number of projects run at once with one $III_HOME: they share the image store and each has its own engine, port, sandboxes and logs. The other commands act on the project of --config, $III_CONFIG_PATH or ./config.yaml.';
  static override examples = ['<%= config.bin %> ls', '<%= config.bin %> ls --json'];
  static override enableJsonFlag = true;

  async run(): Promise<{ projects: ListedProject[] }> {
    await this.parse(Ls);
    const home = iiiPaths().home;
    const now = Date.now();
    const projects = await Promise.all((await listEngineRecords(home)).map((p) => describe(home, p, now)));
    if (!this.jsonEnabled()) {
      if (projects.length === 0) {
        this.logToStderr(
          'No iii is running with this $III_HOME. Start one with `iii` in a project directory.',
        );
      } else {
        this.render(projects);
      }
    }
    return { projects };
  }

  private render(projects: ListedProject[]): void {
    const header = ['NAME', 'WORKERS', 'ADDRESS', 'UPTIME', 'CONFIG'];
    const rows = projects.map((p) => [
      p.name,
      p.workers ? `${p.workers.running}/${p.workers.total} running` : '? (no answer)',
      p.address,
      formatUptime(p.uptimeMs),
      p.configPath,
    ]);
    for (const line of formatColumns(header, rows)) this.log(line);
  }
}
