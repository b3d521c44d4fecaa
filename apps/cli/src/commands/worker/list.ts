import { loadConfig } from '@iii/config';
import type { EngineRecord, WorkerInfo } from '@iii/engine/client';
import type { OrphanedWorker } from '@iii/engine/orphans';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { formatColumns } from '../../lib/columns.js';
import { compileFormat, type Formatter, fieldsOf } from '../../lib/format-template.js';
import { formatUptime } from '../../lib/format-uptime.js';
import { currentProject } from '../../lib/project.js';
import { engineRecordMayExist, unreadableEngineRecord } from '../../lib/running-engine.js';
import { configFlag, engineUrlFlag } from '../../lib/worker-flags.js';

interface ListResult {
  /** The running `iii`, or null when the rows come from config.yaml alone. */
  engine: { pid: number; address: string; configPath: string } | null;
  workers: WorkerInfo[];
  /** Sandboxes still running although `iii` is not (it was killed with its watchdog); empty while it runs. */
  orphans: OrphanedWorker[];
}

/** `yes (3m4s)` since it connected, `no` when it runs unreachable, `-` when it does not run. */
function connectedText(w: WorkerInfo, now: number): string {
  if (w.connected === undefined) return '-';
  if (!w.connected) return 'no';
  return w.connectedSince ? `yes (${formatUptime(now - Date.parse(w.connectedSince))})` : 'yes';
}

/** `sha256:0123456789ab…`: enough to tell two digests apart. */
function short(digest: string | undefined): string {
  return digest ? `${digest.slice(0, 19)}…` : 'an older image';
}

function statusText(w: WorkerInfo, now: number): string {
  let text: string = w.status;
  // It runs as config.yaml said before an edit that is not applied yet (`iii reload` applies it).
  if (w.configChanged) text += ', config changed';
  const notes: string[] = [];
  if ((w.status === 'exited' || w.status === 'restarting') && w.lastExitCode !== undefined) {
    notes.push(`${w.oomKilled ? 'OOM killed, ' : ''}exit ${w.lastExitCode}`);
  }
  if (w.status === 'restarting' && w.nextRestartAt) {
    notes.push(`retry in ${formatUptime(Math.max(0, Date.parse(w.nextRestartAt) - now))}`);
  }
  if (w.status === 'orphaned') notes.push('running without iii');
  if (w.status === 'stopped' && w.stoppedAt) notes.push('until `iii worker start`');
  if (w.pinnedDigest) notes.push('old image, restart to update');
  if (notes.length > 0) text += ` (${notes.join(', ')})`;
  if (w.error) text += ': see `iii` output';
  return text;
}

export default class WorkerList extends BaseCommand {
  static override summary = 'List the workers of config.yaml and whether they run.';
  static override description =
    'One row per worker in config.yaml order: NAME, IMAGE, STATUS, PID, UPTIME, CONNECTED, RESTARTS. CONNECTED says whether the running worker holds a connection to the engine, and for how long (`no`: it runs but cannot be called). STATUS of a crashing worker has its last exit code and when it is retried; its last lines of output follow the table. The state comes from the running `iii`; without one, workers show as stopped and a note says so, except a sandbox still running although `iii` is not (status `orphaned`), which `iii worker cleanup` stops.';
  static override examples = [
    '<%= config.bin %> worker list',
    '<%= config.bin %> worker list --json',
    {
      description: 'Names only, one per line (e.g. to stop them all)',
      command: '<%= config.bin %> worker stop $(<%= config.bin %> worker list -q)',
    },
    {
      description: 'Chosen fields per worker, as with docker ps --format',
      command: "<%= config.bin %> worker list --format '{{.Name}} {{.Status}} {{.Restarts}}'",
    },
    {
      description: 'The same as a table with a header',
      command: "<%= config.bin %> worker list --format 'table {{.Name}}\\t{{.Status}}\\t{{.Restarts}}'",
    },
    {
      description: 'One JSON object per worker and line',
      command: '<%= config.bin %> worker list --format json',
    },
    {
      description: 'The workers of the engine on another machine, as its owner',
      command: 'III_TOKEN=<token> <%= config.bin %> worker list --engine-url ws://10.0.0.5:49134',
    },
  ];
  static override aliases = ['worker:ls', 'worker:ps'];
  static override enableJsonFlag = true;
  static override flags = {
    quiet: Flags.boolean({
      char: 'q',
      description: 'Print only the worker names, one per line.',
      default: false,
      exclusive: ['format', 'json'],
    }),
    format: Flags.string({
      description:
        "Print each worker with a template instead of the table: `json` (one object per line) or fields such as '{{.Name}}\\t{{.Status}}' (the keys of --json, capitalized; see docs/json-output.md); `table <template>` adds a header and aligns the tab-separated columns.",
      helpValue: '<json|template>',
      exclusive: ['quiet', 'json'],
    }),
    config: configFlag,
    'engine-url': engineUrlFlag,
  };

  /** How rows are printed instead of the table (-q, --format), or undefined for the table. */
  private line: Formatter | undefined;
  /**
   * The --json shapes, loaded only for an output made from them (--json, -q, --format): building
   * their zod schemas is a measurable part of what the table costs to start otherwise.
   */
  private shapes: typeof import('../../lib/list-shapes.js') | undefined;

  async run(): Promise<ListResult> {
    const { flags } = await this.parse(WorkerList);
    if (this.jsonEnabled() || flags.quiet || flags.format !== undefined)
      this.shapes = await import('../../lib/list-shapes.js');
    // A bad template is found before anything is asked of the engine.
    if (flags.quiet) this.line = (w) => String(w.name);
    else if (flags.format !== undefined)
      this.line = compileFormat(
        flags.format,
        fieldsOf(this.shapes!.workerRowSchema),
        '{{.Name}} {{.Status}}',
        { table: true },
      );
    const engineUrl = flags['engine-url'];
    if (engineUrl !== undefined) {
      // Another machine's engine: its answer is the list, and any failure is the error.
      const [{ connectEngine }, { engineTarget }] = await Promise.all([
        import('@iii/engine/client'),
        import('../../lib/engine-call.js'),
      ]);
      const client = await connectEngine(engineTarget(engineUrl, 10_000));
      try {
        const result: ListResult = { engine: null, workers: await client.list(), orphans: [] };
        if (!this.jsonEnabled()) {
          this.render(result.workers);
          return result;
        }
        return this.shapes!.listSchema.parse(result) as unknown as ListResult;
      } finally {
        await client.close();
      }
    }
    // The project of config.yaml, and only its `iii`: another project's workers are never shown.
    const project = currentProject({ config: flags.config });
    // The engine client (the SDK and ws) is loaded only when an engine.json says an `iii` may run:
    // without one, the list comes from config.yaml and the sandboxes' state alone.
    const engineClient = engineRecordMayExist(project) ? await import('@iii/engine/client') : undefined;
    const record: EngineRecord | undefined = await engineClient
      ?.readEngineRecord(project)
      .catch(unreadableEngineRecord(project));
    let result: ListResult | undefined;
    if (engineClient && record) {
      const { connectEngine } = engineClient;
      const client = await connectEngine({ project, timeoutMs: 10_000 }).catch(() => undefined);
      if (client) {
        try {
          const workers = await client.list();
          result = {
            engine: { pid: record.pid, address: record.address, configPath: record.configPath },
            workers,
            orphans: [],
          };
        } catch (err) {
          // A refused token is an error to show, never a reason to pretend iii is stopped.
          const code = (err as { code?: string }).code;
          if (code !== 'ENGINE_NOT_RUNNING' && code !== 'ENGINE_WITHOUT_MANAGER') throw err;
        } finally {
          await client.close();
        }
      }
    }
    if (!result) {
      const state = await loadConfig(project.configPath);
      // Only without a running iii does the list need sandbox state: from @iii/engine/orphans, which
      // loads neither the engine nor the worker runtime.
      const { CLEANUP_COMMAND, findOrphanedWorkers, readWorkerRunState } = await import(
        '@iii/engine/orphans'
      );
      // No `iii`, but its sandboxes may still run (it was killed together with its watchdog).
      const { running: orphans, stale } = await findOrphanedWorkers(project);
      const orphanOf = (name: string) => orphans.find((o) => o.name === name);
      const configured = new Set(state.doc.workers.map((w) => w.name));
      const held = new Map(
        await Promise.all(
          state.doc.workers.map(
            async (w) => [w.name, (await readWorkerRunState(project, w.name)).stoppedAt] as const,
          ),
        ),
      );
      result = {
        engine: null,
        workers: [
          ...state.doc.workers.map((w): WorkerInfo => {
            const orphan = orphanOf(w.name);
            return {
              name: w.name,
              image: w.image,
              ...(state.lock.workers[w.name] ? { digest: state.lock.workers[w.name]!.digest } : {}),
              status: orphan ? 'orphaned' : w.enabled === false ? 'disabled' : 'stopped',
              ...(orphan ? { pid: orphan.pid } : {}),
              restarts: 0,
              ...(!orphan && held.get(w.name) ? { stoppedAt: held.get(w.name)! } : {}),
            };
          }),
          ...orphans
            .filter((o) => o.name === undefined || !configured.has(o.name))
            .map(
              (o): WorkerInfo => ({
                name: o.name ?? o.containerId,
                image: '(not in config.yaml)',
                status: 'orphaned',
                pid: o.pid,
                restarts: 0,
              }),
            ),
        ],
        orphans,
      };
      if (!this.jsonEnabled() && !this.line) {
        this.logToStderr(
          orphans.length > 0
            ? `Note: iii is not running, but ${orphans.length} worker sandbox${orphans.length === 1 ? '' : 'es'} it started still run${orphans.length === 1 ? 's' : ''}. Stop ${orphans.length === 1 ? 'it' : 'them'} with \`${CLEANUP_COMMAND}\`.`
            : 'Note: iii is not running; showing config.yaml. Start the workers with `iii`.',
        );
        if (orphans.length === 0 && stale > 0) {
          this.logToStderr(
            `Note: a killed iii left containers or mounts of its sandboxes behind (nothing runs); \`${CLEANUP_COMMAND}\` removes them.`,
          );
        }
      }
    }
    if (!this.jsonEnabled()) {
      this.render(result.workers);
      // Printed only with --json: without it the shape is not needed, nor the time to build it.
      return result;
    }
    // Every key present (null when it does not apply), as docs/json-output.md documents.
    return this.shapes!.listSchema.parse(result) as unknown as ListResult;
  }

  private render(workers: WorkerInfo[]): void {
    if (this.line) {
      // The rows as --json has them (every key present), one line each; nothing else.
      const rows = this.shapes!.listSchema.parse({ engine: null, workers, orphans: [] }).workers;
      const lines = rows.map((row) => this.line!(row));
      const header = this.line.header;
      const shown =
        header === undefined
          ? lines
          : formatColumns(
              header.split('\t'),
              lines.map((l) => l.split('\t')),
            );
      for (const l of shown) this.log(l);
      return;
    }
    const header = ['NAME', 'IMAGE', 'STATUS', 'PID', 'UPTIME', 'CONNECTED', 'RESTARTS'];
    const now = Date.now();
    const rows = workers.map((w) => [
      w.name,
      w.image,
      statusText(w, now),
      w.pid ? String(w.pid) : '-',
      w.status === 'running' ? formatUptime(w.uptimeMs) : '-',
      connectedText(w, now),
      String(w.restarts),
    ]);
    for (const line of formatColumns(header, rows)) this.log(line);
    // Why a worker is in trouble, in its own words.
    for (const w of workers) {
      if (!w.lastOutput?.length) continue;
      this.log(`\nLast output of ${w.name}:`);
      for (const line of w.lastOutput) this.log(`  | ${line}`);
    }
    for (const w of workers) {
      if (!w.pinnedDigest) continue;
      this.log(
        `\nWorker "${w.name}" runs ${short(w.digest)}, not the image iii.lock pins now (${short(w.pinnedDigest)}): \`iii worker restart ${w.name}\` switches to it.`,
      );
    }
    if (workers.length === 0)
      this.logToStderr('No workers in config.yaml. Add one with `iii worker add <image>`.');
  }
}
