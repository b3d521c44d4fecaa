import { access } from 'node:fs/promises';
import {
  ConfigNotFoundError,
  DEFAULT_ENGINE_HOST,
  DEFAULT_ENGINE_PORT,
  ensureHome,
  loadConfig,
  resolveConfigPath,
} from '@iii/config';
import {
  type Engine,
  EngineAlreadyRunningError,
  type RunningWorkers,
  readEngineRecord,
  removeEngineRecord,
  startEngine,
  startWorkers,
  WorkerManager,
  writeEngineRecord,
} from '@iii/engine';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { configFlag } from '../lib/worker-flags.js';

/** The address is taken: say which and what to do, instead of a bare EADDRINUSE. */
class PortInUseError extends Error {
  readonly code = 'PORT_IN_USE';
  readonly hint: string;
  constructor(host: string, port: number) {
    super(`cannot listen on ${host}:${port}: the address is already in use`);
    this.hint = 'Stop what uses it, or pick another port with --port (or engine.port in config.yaml).';
  }
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
    'Listens on engine.host:engine.port of config.yaml (default 127.0.0.1:49134), starts every worker of config.yaml in its sandbox, and keeps running until Ctrl-C or SIGTERM, then stops the workers gracefully and exits 0. Running `iii` with no arguments does the same. The running engine is recorded in $III_HOME/run/engine.json so the other commands find it.';
  static override examples = [
    { description: 'Start with ./config.yaml', command: '<%= config.bin %>' },
    { description: 'Same, spelled out', command: '<%= config.bin %> start' },
    {
      description: 'Another config file and port; --port 0 picks a free port (printed on stderr)',
      command: '<%= config.bin %> start --config ./prod/config.yaml --port 0',
    },
    { description: 'Accept workers from other machines', command: '<%= config.bin %> start --host 0.0.0.0' },
    {
      description: 'Only the engine, for workers that run elsewhere (a cluster, containers)',
      command: '<%= config.bin %> start --no-workers --host 0.0.0.0',
    },
  ];
  static override flags = {
    config: configFlag,
    port: Flags.integer({
      char: 'p',
      description: 'Port to listen on (default engine.port of config.yaml, then 49134); 0 picks a free one.',
      min: 0,
      max: 65535,
    }),
    host: Flags.string({
      description: 'Interface to listen on (default engine.host of config.yaml, then 127.0.0.1).',
    }),
    'no-workers': Flags.boolean({
      description:
        'Run the engine only: start none of the workers of config.yaml (they run elsewhere and dial in).',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Start);
    const configPath = resolveConfigPath({ flag: flags.config });
    const hasConfig = await exists(configPath);
    let settings: { host?: string; port?: number; max_connections_per_peer?: number } = {};
    let runtime: string | undefined;
    if (hasConfig) {
      const { doc } = await loadConfig(configPath);
      settings = doc.config.engine ?? {};
      runtime = doc.config.sandbox?.runtime;
    } else if (flags.config) {
      throw new ConfigNotFoundError(configPath);
    }
    const host = flags.host ?? settings.host ?? DEFAULT_ENGINE_HOST;
    const port = flags.port ?? settings.port ?? DEFAULT_ENGINE_PORT;

    const paths = await ensureHome();
    const other = await readEngineRecord(paths.home);
    if (other) throw new EngineAlreadyRunningError(other.pid, other.address);

    const report = (message: string) => process.stderr.write(`${message}\n`);
    const manager =
      hasConfig && !flags['no-workers']
        ? new WorkerManager({
            configPath,
            home: paths.home,
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
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(host, port);
      throw err;
    }
    // Signals are taken before workers start, so a Ctrl-C during start-up still stops cleanly.
    const stopped = new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });

    let workers: RunningWorkers | undefined;
    try {
      // Recorded before the address is announced, so whoever reads the announcement finds the record.
      await writeEngineRecord(paths.home, {
        pid: process.pid,
        address: engine.address,
        host: engine.host,
        port: engine.port,
        configPath,
        startedAt: new Date().toISOString(),
        token: engine.managementToken,
      });
      report(`iii engine listening on ${engine.address}`);
      if (manager) workers = await startWorkers(engine, { manager, configPath });
      else if (flags['no-workers']) report('--no-workers: running the engine without local workers');
      else report(`no config at ${configPath}; running the engine without workers`);
    } catch (err) {
      await engine.close();
      await removeEngineRecord(paths.home, process.pid);
      throw err;
    }

    const signal = await stopped;
    report(`${signal}: stopping`);
    // A second Ctrl-C while stopping means "now".
    process.once('SIGINT', () => process.exit(130));
    try {
      if (workers) await workers.stop();
    } finally {
      await engine.close();
      await removeEngineRecord(paths.home, process.pid);
    }
    report('stopped');
  }
}
