import { access } from 'node:fs/promises';
import {
  ConfigNotFoundError,
  DEFAULT_ENGINE_HOST,
  DEFAULT_ENGINE_PORT,
  ensureHome,
  loadConfig,
} from '@iii/config';
import {
  claimProject,
  type Engine,
  EngineAlreadyRunningError,
  listEngineRecords,
  type RunningProject,
  type RunningWorkers,
  readEngineRecord,
  removeEngineRecord,
  startEngine,
  startWorkers,
  WorkerManager,
} from '@iii/engine';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { runIiiHook } from '../iii-hooks.js';
import { currentProject, rememberUse } from '../lib/project.js';
import { configFlag, projectNameFlag } from '../lib/worker-flags.js';

/**
 * The address is taken: say which and what to do, instead of a bare EADDRINUSE. When the `iii` of
 * another project holds it, name that project: two projects on one machine need two ports.
 */
class PortInUseError extends Error {
  readonly code = 'PORT_IN_USE';
  readonly hint: string;
  constructor(host: string, port: number, holder?: RunningProject) {
    super(
      holder
        ? `cannot listen on ${host}:${port}: the iii of project ${holder.project ?? holder.key} (${holder.configPath}, pid ${holder.pid}) listens there`
        : `cannot listen on ${host}:${port}: the address is already in use`,
    );
    this.hint = holder
      ? 'Each project needs a port of its own: start this one with --port 0 (a free port) or another --port, or set engine.port in its config.yaml.'
      : 'Stop what uses it, or pick another port with --port (or engine.port in config.yaml).';
  }
}

/** The running `iii` of another project listening on `port` (any host: 0.0.0.0 overlaps them all). */
async function portHolder(home: string, port: number): Promise<RunningProject | undefined> {
  const running = await listEngineRecords(home).catch(() => []);
  return running.find((r) => r.port === port && r.pid !== process.pid);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export default class Start extends BaseCommand {
  static override summary = 'Start the engine and the workers of config.yaml, in the foreground.';
  static override description =
    "Listens on engine.host:engine.port of config.yaml (default 127.0.0.1:49134), starts every worker of config.yaml in its sandbox, and keeps running until Ctrl-C or SIGTERM. While it runs it watches config.yaml and iii.lock and applies each saved edit to the workers it changes only (started, stopped, restarted, or limits updated in place); a broken edit changes nothing and is reported (--no-watch or engine.watch: false turns this off; `iii reload` or SIGHUP applies on demand), then stops the workers gracefully and exits 0. Running `iii` with no arguments does the same. A project is one config.yaml, named after its directory (or --project-name): any number of projects run at once with one $III_HOME, each with its own `iii`, port, sandboxes and logs, sharing the image store. The running engine is recorded in the project's directory under $III_HOME/projects so the other commands run for that config.yaml find it; `iii ls` lists the running projects.";
  static override examples = [
    { description: 'Start with ./config.yaml', command: '<%= config.bin %>' },
    { description: 'Same, spelled out', command: '<%= config.bin %> start' },
    {
      description: 'Another config file and port; --port 0 picks a free port (printed on stderr)',
      command: '<%= config.bin %> start --config ./prod/config.yaml --port 0',
    },
    { description: 'Accept workers from other machines', command: '<%= config.bin %> start --host 0.0.0.0' },
    {
      description: 'Apply edits of config.yaml only on `iii reload` (or SIGHUP), not as they are saved',
      command: '<%= config.bin %> start --no-watch',
    },
    {
      description: 'Only the engine, for workers that run elsewhere (a cluster, containers)',
      command: '<%= config.bin %> start --no-workers --host 0.0.0.0',
    },
    {
      description: 'A second project beside the first, on a free port',
      command: 'cd ../shop && <%= config.bin %> --port 0',
    },
  ];
  static override flags = {
    config: configFlag,
    'project-name': projectNameFlag,
    port: Flags.integer({
      char: 'p',
      description: 'Port to listen on (default engine.port of config.yaml, then 49134); 0 picks a free one.',
      min: 0,
      max: 65535,
    }),
    host: Flags.string({
      description: 'Interface to listen on (default engine.host of config.yaml, then 127.0.0.1).',
    }),
    'no-watch': Flags.boolean({
      description:
        'Do not watch config.yaml and iii.lock: edits apply at the next start, or when you run `iii reload` (also engine.watch: false in config.yaml).',
      default: false,
    }),
    'no-workers': Flags.boolean({
      description:
        'Run the engine only: start none of the workers of config.yaml (they run elsewhere and dial in).',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Start);
    const project = currentProject({ config: flags.config, projectName: flags['project-name'] });
    const configPath = project.configPath;
    const hasConfig = await exists(configPath);
    let settings: { host?: string; port?: number; max_connections_per_peer?: number; watch?: boolean } = {};
    let runtime: string | undefined;
    let workerNames: string[] = [];
    if (hasConfig) {
      const { doc } = await loadConfig(configPath);
      await rememberUse(project);
      settings = doc.config.engine ?? {};
      workerNames = (doc.config.workers ?? []).map((w) => w.name);
      runtime = doc.config.sandbox?.runtime;
    } else if (flags.config) {
      throw new ConfigNotFoundError(configPath);
    }
    const host = flags.host ?? settings.host ?? DEFAULT_ENGINE_HOST;
    const port = flags.port ?? settings.port ?? DEFAULT_ENGINE_PORT;

    const paths = await ensureHome();
    // Only this project's `iii` is in the way; those of other projects run beside it.
    const other = await readEngineRecord(project);
    if (other) throw new EngineAlreadyRunningError(other.pid, other.address, other.configPath);

    const report = (message: string) => process.stderr.write(`${message}\n`);
    const manager =
      hasConfig && !flags['no-workers']
        ? new WorkerManager({
            configPath,
            home: paths.home,
            project,
            report,
            runtime: runtime ?? process.env.III_RUNTIME,
          })
        : undefined;
    let engine: Engine;
    try {
      engine = await startEngine({
        host,
        port,
        report,
        ...(settings.max_connections_per_peer !== undefined
          ? { maxConnectionsPerPeer: settings.max_connections_per_peer }
          : {}),
        logSink:
          manager?.logSink ??
          ((worker, level, message) => process.stderr.write(`${worker} ${level.toUpperCase()} ${message}\n`)),
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
        throw new PortInUseError(host, port, await portHolder(paths.home, port));
      throw err;
    }
    // Signals are taken before workers start, so a Ctrl-C during start-up still stops cleanly. The
    // listeners stay installed (`on`, not `once`): a library that runs a child process (execa, through
    // signal-exit) re-raises a signal that it finds no other listener for, which would end iii at once
    // and leave the workers it was starting behind. A second Ctrl-C while stopping means "now".
    let stopping = false;
    const stopped = new Promise<NodeJS.Signals>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        if (!stopping) {
          stopping = true;
          report(`${signal}: stopping`);
          resolve(signal);
        } else if (signal === 'SIGINT') process.exit(130);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
    // SIGHUP applies config.yaml now, as `iii reload` does. Taken here too, because its default
    // action would end iii: one that arrives while the workers start is applied once they have.
    let reloadOnHup: (() => void) | undefined;
    let hupWhileStarting = false;
    process.on('SIGHUP', () => {
      if (reloadOnHup) reloadOnHup();
      else hupWhileStarting = true;
    });

    let workers: RunningWorkers | undefined;
    try {
      // Recorded before the address is announced, so whoever reads the announcement finds the record.
      await claimProject(project, {
        pid: process.pid,
        project: project.name,
        address: engine.address,
        host: engine.host,
        port: engine.port,
        configPath,
        startedAt: new Date().toISOString(),
        sandboxDir: project.sandbox,
        token: engine.managementToken,
      });
      report(`iii engine listening on ${engine.address}`);
      if (manager) {
        const event = { configPath, address: engine.address, workers: workerNames };
        await runIiiHook(this, 'iii:workers-starting', event);
        const watch = !flags['no-watch'] && settings.watch !== false;
        workers = await startWorkers(engine, { manager, configPath, watch, report });
        await runIiiHook(this, 'iii:workers-started', event);
        if (!stopping)
          report(
            watch
              ? 'watching config.yaml and iii.lock: saved edits apply to the workers they change'
              : `not watching config.yaml (${flags['no-watch'] ? '--no-watch' : 'engine.watch: false'}): run \`iii reload\` to apply edits`,
          );
        const running = workers;
        reloadOnHup = () => {
          report('SIGHUP: applying config.yaml');
          void running.manager.reload().then((r) => {
            if (r.applied && r.lines.length === 0) report('config.yaml: nothing to change');
          });
        };
        if (hupWhileStarting) reloadOnHup();
      } else if (flags['no-workers']) report('--no-workers: running the engine without local workers');
      else report(`no config at ${configPath}; running the engine without workers`);
    } catch (err) {
      await engine.close();
      await removeEngineRecord(project, process.pid);
      throw err;
    }

    await stopped;
    try {
      if (workers) await workers.stop();
    } finally {
      await engine.close();
      await removeEngineRecord(project, process.pid);
    }
    report('stopped');
  }
}
