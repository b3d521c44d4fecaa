import {
  DEFAULT_ENGINE_HOST,
  DEFAULT_ENGINE_PORT,
  DEFAULT_RESTART_POLICY,
  formatBytes,
  iiiPaths,
  loadConfig,
  maskEnv,
  resolveConfigPath,
  WorkerNotFoundError,
} from '@iii/config';
import type { OrphanedWorker, WorkerAddress, WorkerDetails } from '@iii/engine';
import { type ImageConfig, ImageStore } from '@iii/oci';
import { inspectWorkerConfig, planWorkerProcess, storedImageInfo, TreeMeter } from '@iii/workers';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { engineTarget } from '../../lib/engine-call.js';
import { compileFormat, type FieldSet, type Formatter, fieldsOf } from '../../lib/format-template.js';
import { inspectSchema, workerDetailsSchema } from '../../lib/json-shapes.js';
import { currentProject } from '../../lib/project.js';
import { runningEngine } from '../../lib/running-engine.js';
import { configFlag, engineUrlFlag } from '../../lib/worker-flags.js';

/** `--reveal` without a value to reveal: resolved values exist only in the running `iii`. */
class NothingToRevealError extends Error {
  readonly code = 'NOTHING_TO_REVEAL';
  readonly hint: string;
  constructor(name: string, iiiRuns: boolean) {
    super(`worker "${name}" is not running, so no value was resolved for it`);
    this.hint = iiiRuns
      ? `Start it with \`iii worker start ${name}\`, then run inspect --reveal again.`
      : 'Start iii with `iii`, then run inspect --reveal again.';
  }
}

/** `inspect --engine-url`: what the engine elsewhere knows of the worker (its env masked unless --reveal). */
interface RemoteInspectResult {
  name: string;
  engine: string;
  run: WorkerDetails;
}

interface InspectResult {
  name: string;
  image: string;
  /** The digest iii.lock pins: what the worker runs when it (re)starts. */
  digest: string | null;
  /**
   * The digest the running worker runs, when it differs from `digest` (after `update` or
   * `add --force`, until `iii worker restart`); null otherwise.
   */
  runningDigest: string | null;
  index: string | null;
  platform: string | null;
  /** Compressed size of the image (manifest, config and layers) in the store, in bytes. */
  size: number | null;
  /** Size of its unpacked root file system, in bytes (null when it is not unpacked). */
  unpackedSize: number | null;
  present: boolean;
  rootfs: string | null;
  /** Its layers as snapshots (lowest first), with the other stored images that share each. */
  layers: { chainId: string; bytes: number; shared: boolean; sharedWith: string[] }[] | null;
  entrypoint: string[];
  cmd: string[];
  argv: string[];
  /** The address the worker is given (env III_ENGINE_URL/III_URL and argv --url), and the rule that chose it. */
  engineAddress: WorkerAddress;
  user: string | null;
  workingDir: string | null;
  env: Record<string, string>;
  unresolved: string[];
  resources: Record<string, unknown> | null;
  restart: string;
  network: string;
  init: boolean;
  logs: string;
  state: string;
  /** Run-time state from the running `iii` (status, pid, restarts, last exit, sandbox), or null. */
  run: WorkerDetails | null;
  /** Its sandbox when it still runs although `iii` does not (`iii worker cleanup` stops it), or null. */
  orphan: OrphanedWorker | null;
}

export default class WorkerInspect extends BaseCommand {
  static override summary = 'Show everything known about a worker.';
  static override description =
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${VAR} syntax of config.yaml, shown to users.
    'Image reference, pinned digest and platform, size, unpacked rootfs, entrypoint and argv as run, the engine address the worker gets and which rule chose it, environment, resources and log location. A value filled from ${VAR} is shown as written and the value of a secret-looking key (API_KEY, *_SECRET, *_TOKEN, *_PASSWORD...) as ****; --reveal shows the values the running iii resolved.';
  static override examples = [
    '<%= config.bin %> worker inspect image-resize',
    '<%= config.bin %> worker inspect image-resize --json',
    {
      description: 'Only some fields, as with docker inspect --format',
      command: "<%= config.bin %> worker inspect image-resize --format '{{.Digest}} {{.State}} {{.Run.Pid}}'",
    },
    {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${VAR} syntax of config.yaml, shown to users.
      description: 'Show the values the running iii filled in from ${VAR}',
      command: '<%= config.bin %> worker inspect image-resize --reveal',
    },
    {
      description: 'What the engine of another machine runs, as its owner',
      command:
        'III_TOKEN=<token> <%= config.bin %> worker inspect image-resize --engine-url ws://10.0.0.5:49134',
    },
  ];
  static override enableJsonFlag = true;
  static override args = { name: Args.string({ description: 'Worker name.', required: true }) };
  static override flags = {
    config: configFlag,
    reveal: Flags.boolean({
      description: 'Show environment values as the running iii resolved them, secrets included.',
      default: false,
    }),
    format: Flags.string({
      description:
        "Print the result with a template instead: `json` (one line) or fields such as '{{.Digest}} {{.Run.Pid}}' (the keys of --json, capitalized; see docs/json-output.md).",
      helpValue: '<json|template>',
      exclusive: ['json'],
    }),
    'engine-url': engineUrlFlag,
  };

  /** `--format`, compiled: prints the result instead of the listing. */
  private line: Formatter | undefined;

  async run(): Promise<InspectResult | RemoteInspectResult> {
    const { args, flags } = await this.parse(WorkerInspect);
    if (flags.format !== undefined) {
      // A bad template is found before anything else is read.
      const fields: FieldSet =
        flags['engine-url'] === undefined
          ? fieldsOf(inspectSchema)
          : { name: null, engine: null, run: fieldsOf(workerDetailsSchema) };
      this.line = compileFormat(flags.format, fields, '{{.Name}} {{.Digest}}');
    }
    if (flags['engine-url'] !== undefined) return this.remote(args.name, flags['engine-url'], flags.reveal);
    const configPath = resolveConfigPath({ flag: flags.config });
    const { doc, lock } = await loadConfig(configPath);
    const entry = doc.worker(args.name);
    if (!entry) throw new WorkerNotFoundError(args.name, configPath);
    const paths = iiiPaths();
    const store = new ImageStore(paths.store);
    const pin = lock.workers[entry.name];
    const project = currentProject({ config: flags.config });
    const engine = await runningEngine(project).catch(() => undefined);
    const host = doc.config.engine?.host ?? DEFAULT_ENGINE_HOST;
    const port = doc.config.engine?.port ?? DEFAULT_ENGINE_PORT;
    const engineUrl = engine?.address ?? `ws://${host}:${port}`;

    // Only the local store and rootfs cache: a missing image is shown as missing (`iii worker sync`).
    const stored = pin ? await storedImageInfo(store, paths.rootfs, pin.digest, paths.snapshots) : undefined;
    const imageConfig: Pick<ImageConfig, 'config'> = stored?.config ?? {};
    const rc = imageConfig.config ?? {};
    const size = stored?.size ?? null;
    const present = stored?.present ?? false;

    // Keys filled from ${VAR} are shown as written unless --reveal.
    const { values: config, written, unresolved } = inspectWorkerConfig(entry, process.env);

    const rootfs = stored?.rootfs ?? null;
    const layers = stored?.layers ?? null;
    // The engine package is loaded only when needed (see running-engine.ts).
    const engineApi = await import('@iii/engine');
    // What the sandbox will run, from the same function it builds the runtime spec with.
    const planned = await planWorkerProcess({
      imageConfig,
      ...(layers
        ? { imageRootfs: [...layers].reverse().map((l) => ({ path: l.path })) }
        : rootfs
          ? { imageRootfs: rootfs }
          : {}),
      name: entry.name,
      config,
      engineUrl,
    });
    const env = Object.fromEntries(envPairs(planned.env));

    const live = engine
      ? await engineApi.runningWorkerDetails({ project, name: entry.name, reveal: flags.reveal })
      : undefined;
    // Resolved values come only from the engine, through a call that proved to be its owner.
    if (flags.reveal && !live?.env) throw new NothingToRevealError(entry.name, engine !== undefined);
    const logs = engineApi.workerLogsDir(project, entry.name);
    // Without `iii`, its sandbox may still run (it was killed together with its watchdog).
    const orphan = engine
      ? undefined
      : (await engineApi.findOrphanedWorkers(project)).running.find((o) => o.name === entry.name);
    const result: InspectResult = {
      name: entry.name,
      image: entry.image,
      digest: pin?.digest ?? null,
      runningDigest: live?.digest && pin && live.digest !== pin.digest ? live.digest : null,
      index: pin?.index ?? null,
      platform: pin?.platform ?? null,
      size,
      unpackedSize: layers
        ? layers.reduce((n, l) => n + l.bytes, 0)
        : rootfs
          ? await new TreeMeter().size(rootfs)
          : null,
      present,
      rootfs,
      layers:
        layers?.map(({ chainId, bytes, shared, sharedWith }) => ({ chainId, bytes, shared, sharedWith })) ??
        null,
      entrypoint: rc.Entrypoint ?? [],
      cmd: rc.Cmd ?? [],
      argv: planned.argv,
      engineAddress: {
        url: planned.address.url,
        rule: planned.address.rule,
        ...(planned.address.key ? { key: planned.address.key } : {}),
        reason: planned.address.reason,
      },
      user: rc.User || null,
      workingDir: rc.WorkingDir || null,
      env: flags.reveal && live?.env ? sortKeys(live.env) : maskEnv(sortKeys(env), { written }),
      unresolved,
      resources: (entry.resources as Record<string, unknown> | null | undefined) ?? null,
      restart: entry.restart ?? DEFAULT_RESTART_POLICY,
      network: entry.network ?? 'host',
      init: entry.init ?? true,
      logs,
      state: live
        ? stateText(live)
        : engine
          ? 'not started'
          : orphan
            ? `orphaned: its sandbox still runs (pid ${orphan.pid}) but iii is not running; stop it with \`${engineApi.CLEANUP_COMMAND}\``
            : 'not running (iii is not running)',
      run: live ?? null,
      orphan: orphan ?? null,
    };
    // Every key present (null when it does not apply), as docs/json-output.md documents.
    const shaped = inspectSchema.parse(result) as unknown as InspectResult;
    if (this.line) this.log(this.line(shaped as unknown as Record<string, unknown>));
    else if (!this.jsonEnabled()) this.print(result, pin !== undefined, engine !== undefined);
    return shaped;
  }

  /** Another machine's engine: only what it says of the worker, nothing from this machine. */
  private async remote(name: string, engineUrl: string, reveal: boolean): Promise<RemoteInspectResult> {
    const { runningWorkerDetails, UnknownWorkerError } = await import('@iii/engine/client');
    const run = await runningWorkerDetails({ ...engineTarget(engineUrl), name, reveal });
    if (!run) throw new UnknownWorkerError(name);
    if (reveal && !run.env) throw new NothingToRevealError(name, true);
    const result: RemoteInspectResult = { name, engine: engineUrl, run };
    if (this.line) {
      this.log(this.line({ ...result, run: workerDetailsSchema.parse(run) }));
    } else if (!this.jsonEnabled()) {
      const lines: string[] = [];
      const row = (k: string, v: string) => lines.push(`${`${k}:`.padEnd(12)}${v}`);
      row('Name', run.name);
      row('Image', run.image);
      if (run.digest) row('Digest', run.digest);
      row('Engine', engineUrl);
      row('State', stateText(run));
      if (run.pid) row('PID', String(run.pid));
      if (run.startedAt) row('Started', run.startedAt);
      row('Restarts', String(run.restarts));
      if (run.argv) row('Argv', JSON.stringify(run.argv));
      row('Restart', run.restartPolicy);
      row('Network', run.network);
      // An engine of an older version does not say.
      if (run.init !== undefined) row('Init', initText(true, run.init));
      row('Logs', run.logDir);
      lines.push('Env:');
      for (const [k, v] of Object.entries(sortKeys(run.env ?? {}))) lines.push(`  ${k}=${v}`);
      if (run.lastOutput?.length) {
        lines.push('Last output:');
        for (const l of run.lastOutput) lines.push(`  | ${l}`);
      }
      this.log(lines.join('\n'));
    }
    return result;
  }

  private print(r: InspectResult, pinned: boolean, engineRunning: boolean): void {
    const lines: string[] = [];
    const row = (k: string, v: string) => lines.push(`${`${k}:`.padEnd(12)}${v}`);
    row('Name', r.name);
    row('Image', r.image);
    row('Digest', r.digest ?? 'not pinned (run `iii worker update`)');
    if (r.runningDigest) {
      row(
        'Running',
        `${r.runningDigest}: not the pinned image; \`iii worker restart ${r.name}\` switches to it`,
      );
    }
    if (r.index) row('Index', r.index);
    if (r.platform) row('Platform', r.platform);
    if (pinned) row('Present', r.present ? 'yes' : 'no (run `iii worker sync`)');
    if (r.size !== null) {
      row(
        'Size',
        `${formatBytes(r.size)} compressed${r.unpackedSize !== null ? `, ${formatBytes(r.unpackedSize)} unpacked` : ''}`,
      );
    }
    if (r.rootfs) row('Rootfs', r.rootfs);
    if (r.layers) {
      const shared = r.layers.filter((l) => l.shared);
      const own = r.layers.filter((l) => !l.shared);
      const sum = (ls: typeof own) => formatBytes(ls.reduce((n, l) => n + l.bytes, 0));
      const others = [...new Set(shared.flatMap((l) => l.sharedWith))].sort();
      row(
        'Layers',
        `${r.layers.length} unpacked: ${shared.length} shared with other images (${sum(shared)}${others.length > 0 ? `: ${others.join(', ')}` : ''}), ${own.length} its own (${sum(own)}: what a prune frees once no worker uses the image)`,
      );
    }
    row('Argv', r.argv.length > 0 ? JSON.stringify(r.argv) : '(none)');
    // Without a running iii the engine's address is what config.yaml says; `iii --port` would change it.
    const predicted =
      r.engineAddress.rule === 'engine' && !engineRunning
        ? ' (iii is not running: engine.host/port of config.yaml)'
        : '';
    row('Engine', `${r.engineAddress.url}, ${r.engineAddress.reason}${predicted}`);
    if (r.user) row('User', r.user);
    if (r.workingDir) row('WorkingDir', r.workingDir);
    row(
      'Resources',
      r.resources
        ? Object.entries(r.resources)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(' ')
        : '(none)',
    );
    const sandbox = r.run?.sandbox;
    if (sandbox) {
      row(
        'Sandbox',
        `${sandbox.mode}, ${sandbox.idMap ? `${sandbox.idMap === 'subordinate' ? 'subordinate ids mapped' : 'single-id map'}, ` : ''}rootfs ${sandbox.rootfs}, ${sandbox.limitsEnforced ? 'limits enforced' : `limits not enforced (${sandbox.limitsNote ?? 'no cgroup'})`}`,
      );
    }
    row('Restart', r.restart);
    row('Network', r.network);
    row('Init', initText(r.init, r.run?.init));
    row('Logs', r.logs);
    row('State', r.state);
    if (r.run?.pid) row('PID', String(r.run.pid));
    if (r.run?.startedAt) row('Started', r.run.startedAt);
    if (r.run?.connected !== undefined) {
      row(
        'Connected',
        r.run.connected
          ? `yes, since ${r.run.connectedSince ?? '?'} (worker id ${r.run.connectionId ?? '?'})`
          : 'no: it runs but holds no connection to the engine, so its functions cannot be called (see `iii worker logs`)',
      );
    }
    if (r.run) row('Restarts', String(r.run.restarts));
    if (r.run?.lastExitCode !== undefined) {
      row('Last exit', `${r.run.lastExitCode}${r.run.oomKilled ? ' (OOM killed)' : ''}`);
    }
    if (r.run?.nextRestartAt) row('Next retry', r.run.nextRestartAt);
    if (r.run?.containerId) row('Container', `${r.run.containerId} (${r.run.runtime ?? 'runtime'})`);
    if (r.orphan) {
      row('PID', String(r.orphan.pid));
      row('Container', `${r.orphan.containerId} (${r.orphan.runtime})`);
    }
    if (r.run?.rootfs) row('Root', r.run.rootfs);
    lines.push('Env:');
    for (const [k, v] of Object.entries(r.env)) lines.push(`  ${k}=${v}`);
    for (const u of r.unresolved) lines.push(`Unresolved: ${u}`);
    if (r.run?.lastOutput?.length) {
      lines.push('Last output:');
      for (const l of r.run.lastOutput) lines.push(`  | ${l}`);
    }
    this.log(lines.join('\n'));
  }
}

function stateText(w: WorkerDetails): string {
  let text = w.status;
  if (w.lastExitCode !== undefined && w.status !== 'running') {
    text += ` (last exit ${w.lastExitCode}${w.oomKilled ? ', OOM killed' : ''})`;
  }
  if (w.error) text += `: ${w.error}`;
  return text;
}

/** `KEY=value` lines as pairs (keys are unique: the plan already applied precedence). */
function envPairs(lines: readonly string[]): [string, string][] {
  return lines.map((line) => {
    const eq = line.indexOf('=');
    return [eq < 0 ? line : line.slice(0, eq), eq < 0 ? '' : line.slice(eq + 1)];
  });
}

function sortKeys(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `init:` as asked in config.yaml and, while it runs, as it runs. */
function initText(asked: boolean, running: boolean | undefined): string {
  if (!asked) return 'none (init: false): the worker is PID 1 of its sandbox';
  if (running === false) return 'none: the worker is PID 1 of its sandbox (iii system check says why)';
  return 'tini as PID 1, the worker below it';
}
