import { isDeepStrictEqual } from 'node:util';
import {
  type ConfigState,
  carryOverRenamedPins,
  editConfig,
  type IiiPaths,
  iiiPaths,
  loadConfig,
  maskEnv,
  type ProjectPaths,
  projectPaths,
  scrubSecrets,
  type WorkerEntry,
} from '@iii/config';
import { type LogStream, readLogs, Sandbox, type Worker, type WorkerState } from '@iii/sandbox';
import { loadWorkerImage } from '@iii/workers';
import type { WorkerController } from '../control/worker-controller.js';
import type { LogOrigin, LogSink, WorkerLogLevel } from '../log-sink.js';
import { isOwner } from '../peer.js';
import type { ConnectionInfo } from '../start-engine.js';
import { connectionsHeldBy } from './connection-owner.js';
import {
  type CurrentWorker,
  convergeChanges,
  type DesiredWorker,
  sameSpec,
  type WorkerChange,
} from './converge.js';
import { ManagerError, UnknownWorkerError } from './errors.js';
import { stopInParallel } from './stop-in-parallel.js';
import { readWorkerRunState, writeWorkerRunState } from './worker-files.js';
import type {
  ManagedWorkerStatus,
  ReloadOptions,
  ReloadResult,
  StartOutcome,
  WorkerDetails,
  WorkerInfo,
} from './worker-info.js';
import { LockMismatchError, planWorker, type WorkerPlan } from './worker-plan.js';
import { workerStartDefinition } from './worker-start.js';

/** Options of {@link WorkerManager}: the project (config.yaml, `$III_HOME`), its directories, runtime and clock. */
export interface WorkerManagerOptions {
  /** config.yaml (iii.lock beside it). */
  configPath: string;
  /** `$III_HOME`. */
  home: string;
  /**
   * The project's own state directories (sandboxes, logs). Default: those of `configPath` in `home`,
   * named as `$III_PROJECT_NAME` says.
   */
  project?: ProjectPaths;
  /** Environment `${VAR}` in `config:` is interpolated from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** OCI runtime to prefer (`sandbox.runtime` of config.yaml, then `$III_RUNTIME`). */
  runtime?: string;
  /** Where problems and progress go (one line each); the `iii` command prints them on stderr. */
  report?: (message: string) => void;
  /** Grace period between SIGTERM and SIGKILL when none is given. Default 10 s. */
  stopTimeoutMs?: number;
  /** Clock for uptimes. */
  now?: () => number;
}

/** Lines of output shown for a worker in trouble by `list`, and for any worker by `inspect`. */
const LIST_OUTPUT_LINES = 3;
const INSPECT_OUTPUT_LINES = 10;

/** Until `startAll` says where the engine listens. */
const DEFAULT_ENGINE_URL = 'ws://127.0.0.1:49134';

/** What the manager remembers of one worker between runs. */
interface Slot {
  entry: WorkerEntry;
  plan?: WorkerPlan;
  worker?: Worker;
  /** State of the last run once its sandbox is gone. */
  last?: WorkerState;
  /** Restarts of earlier runs of this `iii` (a user restart keeps counting). */
  restartsBefore: number;
  status?: ManagedWorkerStatus;
  error?: string;
  imageRootfs?: string;
  /** A start or stop in progress: operations on one worker run one at a time. */
  busy: Promise<unknown>;
  /** When `iii worker stop` stopped it: it stays stopped, also across restarts of `iii`. */
  stoppedAt?: string;
}

/** What the kernel said of a connection that logs: the worker holding it, once known, and when asked. */
interface LogOwner {
  owner: Promise<string | undefined>;
  name?: string;
  checkedAt?: number;
  /** Lines waiting for `owner`: a check may wait for a starting worker, and these are bounded. */
  waiting: number;
}

/** Lines of one connection held while the kernel is asked whose it is; more are dropped. */
const MAX_LINES_WAITING_FOR_OWNER = 1000;
/** How often, and how many times, a line's check asks again while the worker it names is starting. */
const STARTING_RECHECK_MS = 25;
const STARTING_RECHECKS = 200;

/**
 * Runs the workers of config.yaml in sandboxes, for as long as `iii` runs: each from its locked
 * digest and the local image cache, with its `config:` interpolated and flattened into its
 * environment. A worker that cannot start is reported and skipped; the others run.
 */
export class WorkerManager implements WorkerController {
  readonly paths: IiiPaths;
  /** The project it runs: its sandboxes and logs live in `project.sandbox`. */
  readonly project: ProjectPaths;
  private readonly options: WorkerManagerOptions;
  private readonly report: (message: string) => void;
  private readonly now: () => number;
  private readonly slots = new Map<string, Slot>();
  /** config.yaml order, for lists. */
  private order: string[] = [];
  private sandbox: Sandbox | undefined;
  private sandboxOpening: Promise<Sandbox> | undefined;
  private engineUrl: string | undefined;
  private engineConnections: (() => ConnectionInfo[]) | undefined;
  private closing = false;
  /** iii.lock as last read: what each worker should run, to tell a running one that lags behind. */
  private pins: Record<string, { digest: string }> = {};
  /** Reloads run one after the other. */
  private converging: Promise<unknown> = Promise.resolve();
  /**
   * Each worker's entry and pin as last applied: a problem in an entry that did not change since
   * (already reported) skips that worker; one in an edited entry stops the whole reload.
   */
  private applied = new Map<string, unknown>();

  constructor(options: WorkerManagerOptions) {
    this.options = options;
    this.paths = iiiPaths({ env: { III_HOME: options.home } });
    this.project = options.project ?? projectPaths({ home: options.home, configPath: options.configPath });
    this.report = options.report ?? (() => {});
    this.now = options.now ?? Date.now;
  }

  get configPath(): string {
    return this.options.configPath;
  }

  /** The sandbox (runtime detected on first use). */
  async openSandbox(): Promise<Sandbox> {
    if (this.sandbox) return this.sandbox;
    this.sandboxOpening ??= (async () => {
      const sandbox = await Sandbox.open({
        stateDir: this.project.sandbox,
        ...(this.options.runtime ? { runtime: this.options.runtime } : {}),
        // Its watchdog stops the workers if `iii` dies without stopping them (crash, kill -9).
        report: this.report,
      });
      const { limits } = sandbox.mode;
      if (!limits.enforced) {
        this.report(
          `running rootless: cpus and memory limits are not enforced (${limits.reason}); see \`iii system check\``,
        );
      }
      // Containers and mounts of an `iii` that crashed would block workers of the same names.
      const left = await sandbox.cleanupLeftovers();
      if (left.containers.length + left.mounts.length + left.cgroups.length > 0) {
        this.report(
          `cleaned up after a previous run: ${left.containers.length} container(s), ${left.mounts.length} mount(s), ${left.cgroups.length} cgroup(s)`,
        );
      }
      this.sandbox = sandbox;
      return sandbox;
    })();
    return this.sandboxOpening;
  }

  /**
   * The engine whose connections tell whether a worker is connected (`list`, `inspect`).
   * `startWorkers` attaches the engine it joins.
   */
  attachEngine(engine: { listConnections(): ConnectionInfo[] }): void {
    this.engineConnections = () => engine.listConnections();
  }

  /** Reads config.yaml and iii.lock now (changes apply to workers started afterwards). */
  private async readConfig(): Promise<ConfigState> {
    const state = await loadConfig(this.options.configPath);
    this.adopt(state);
    return state;
  }

  /**
   * Starts every worker of config.yaml, in parallel. Resolves when each has started or been
   * reported and skipped; never rejects because of one worker.
   */
  async startAll(engineUrl: string): Promise<void> {
    this.engineUrl = engineUrl;
    const state = await this.carryOverRenames(await this.readConfig());
    this.remember(state);
    if (state.doc.workers.length === 0) {
      this.report('no workers in config.yaml; add one with `iii worker add <image>`');
      return;
    }
    try {
      await this.openSandbox();
    } catch (err) {
      for (const w of state.doc.workers) this.fail(this.slots.get(w.name)!, err);
      return;
    }
    // A worker the user stopped stays stopped until `iii worker start` (Docker's unless-stopped).
    const held: string[] = [];
    const disabled: string[] = [];
    for (const w of state.doc.workers) {
      if (w.enabled === false) {
        this.slots.get(w.name)!.status = 'disabled';
        disabled.push(w.name);
        continue;
      }
      const { stoppedAt } = await readWorkerRunState(this.project, w.name);
      if (stoppedAt === undefined) continue;
      const slot = this.slots.get(w.name)!;
      slot.stoppedAt = stoppedAt;
      slot.status = 'stopped';
      held.push(w.name);
    }
    const toStart = state.doc.workers.filter((w) => !held.includes(w.name) && !disabled.includes(w.name));
    await Promise.all(toStart.map((w) => this.serialize(w.name, () => this.launch(w.name, state))));
    const skipped = toStart.filter((w) => this.slots.get(w.name)?.error).map((w) => w.name);
    const total = state.doc.workers.length;
    this.report(
      `started ${toStart.length - skipped.length} of ${total} worker${total === 1 ? '' : 's'}${skipped.length > 0 ? ` (skipped: ${skipped.join(', ')})` : ''}${held.length > 0 ? ` (stopped with \`iii worker stop\`: ${held.join(', ')}; \`iii worker start <name>\` starts one)` : ''}${disabled.length > 0 ? ` (enabled: false in config.yaml: ${disabled.join(', ')})` : ''}`,
    );
  }

  /**
   * Brings the running workers to config.yaml and iii.lock as they are now, touching only the
   * workers whose planned run spec changed: `started c`, `restarted b (config: FOO changed)`,
   * `stopped c (removed from config.yaml)`, `updated a (memory 256Mi -> 128Mi, in place)`. A file
   * that does not parse, an entry that cannot be planned or an image missing from the store changes
   * nothing that runs: the problem is reported and the next good save applies. Never pulls.
   */
  reload(options: ReloadOptions = {}): Promise<ReloadResult> {
    const run = () => this.converge(options);
    const next = this.converging.then(run, run);
    this.converging = next.catch(() => {});
    return next;
  }

  private async converge(options: ReloadOptions): Promise<ReloadResult> {
    const none: ReloadResult = { applied: true, lines: [], changes: [] };
    if (this.closing || this.engineUrl === undefined) return none;
    let state: ConfigState;
    try {
      state = await this.carryOverRenames(await loadConfig(this.options.configPath));
    } catch (err) {
      return this.rejected([oneLine(err)]);
    }
    const only = options.only ? new Set(options.only) : undefined;
    const entries = state.doc.workers.filter((w) => !only || only.has(w.name));
    const env = this.options.env ?? process.env;
    const problems: string[] = [];
    const desired: DesiredWorker[] = [];
    const plans = new Map<string, WorkerPlan>();
    for (const entry of entries) {
      if (entry.enabled === false) {
        desired.push({ name: entry.name, disabled: true });
        continue;
      }
      try {
        const plan = planWorker(entry, state.lock, env);
        plans.set(entry.name, plan);
        desired.push({ name: entry.name, plan });
      } catch (err) {
        desired.push({ name: entry.name });
        // An entry that was already broken at the last start or reload stays skipped, as reported then.
        if (this.isFresh(entry.name, state)) problems.push(this.reloadProblem(entry.name, err, state));
      }
    }
    // A worker held by `iii worker stop` and then removed (its state went with its files) is a new
    // worker if its entry comes back.
    await Promise.all(
      [...this.slots.values()]
        .filter((s) => s.stoppedAt !== undefined && !s.worker)
        .map(async (s) => {
          if ((await readWorkerRunState(this.project, s.entry.name)).stoppedAt !== undefined) return;
          delete s.stoppedAt;
          delete s.plan;
        }),
    );
    const current: CurrentWorker[] = [...this.slots.values()]
      .filter((s) => !only || only.has(s.entry.name))
      .map((s) => ({
        name: s.entry.name,
        active: s.worker !== undefined || s.status === 'starting',
        held: s.stoppedAt !== undefined,
        ...(s.plan ? { plan: s.plan } : {}),
        failed: s.error !== undefined,
      }));
    const changes = convergeChanges(desired, current);
    // Every image to start must be in the store before anything stops: nothing is ever pulled here.
    const images = new Map<string, Awaited<ReturnType<typeof loadWorkerImage>>>();
    await Promise.all(
      changes
        .filter((c) => c.kind === 'start' || c.kind === 'restart')
        .map(async (c) => {
          const plan = plans.get(c.name)!;
          try {
            images.set(c.name, await loadWorkerImage(this.paths, c.name, plan.digest));
          } catch (err) {
            problems.push(
              `${state.doc.whereIs(c.name, 'image')}: worker "${c.name}": its image ${plan.image} (${plan.digest.slice(0, 19)}…) is not in the local store; run \`iii worker add ${plan.image} --name ${c.name} --force\` to pull it (${oneLine(err)})`,
            );
          }
        }),
    );
    if (problems.length > 0) return this.rejected(problems);
    this.adopt(state);
    this.remember(state);
    if (changes.length === 0) return { applied: true, lines: [], changes };
    await this.openSandbox();
    const lines: string[] = [];
    const say = (line: string) => {
      lines.push(line);
      this.report(line);
    };
    await Promise.all(changes.map((c) => this.serialize(c.name, () => this.applyChange(c, state, say))));
    return { applied: true, lines, changes };
  }

  private async applyChange(change: WorkerChange, state: ConfigState, say: (line: string) => void) {
    const slot = this.slots.get(change.name);
    if (!slot || this.closing) return;
    const { name } = change;
    const relaunch = async (): Promise<boolean> => {
      await this.launch(name, state, false, true);
      return slot.error === undefined;
    };
    switch (change.kind) {
      case 'start':
        if (slot.worker || slot.stoppedAt) return;
        if (await relaunch()) say(`started ${name}`);
        return;
      case 'stop':
        await this.halt(slot, undefined);
        // Its spec is forgotten: an entry put back starts again.
        delete slot.plan;
        if (!this.order.includes(name)) this.slots.delete(name);
        say(`stopped ${name} (${change.reason})`);
        return;
      case 'update': {
        const worker = slot.worker;
        const plan = planWorker(slot.entry, state.lock, this.options.env ?? process.env);
        const outcome = worker ? await worker.updateResources(plan.resources) : undefined;
        if (outcome?.inPlace) {
          slot.plan = plan;
          say(`updated ${name} (${change.changes.join(', ')}, in place)`);
          return;
        }
        await this.halt(slot, undefined);
        if (await relaunch())
          say(
            `restarted ${name} (${change.changes.join(', ')}; not in place: ${outcome?.reason ?? 'it is not running'})`,
          );
        return;
      }
      case 'restart':
        await this.halt(slot, undefined);
        if (await relaunch()) say(`restarted ${name} (${change.changes.join('; ')})`);
        return;
    }
  }

  /** Reports why config.yaml was not applied; everything keeps running as it was. */
  private rejected(problems: string[]): ReloadResult {
    const lines = [
      ...problems,
      'config.yaml not applied: every worker keeps running as it was; the next good save applies',
    ];
    for (const line of lines) this.report(line);
    return { applied: false, lines, changes: [] };
  }

  /** One line for an entry that cannot be planned, with what to do. */
  private reloadProblem(name: string, err: unknown, state: ConfigState): string {
    if (err instanceof LockMismatchError) {
      const image = state.doc.worker(name)?.image ?? '';
      return `${state.doc.whereIs(name, 'image')}: worker "${name}": ${image} is not pinned in iii.lock (it may not be pulled yet); run \`iii worker add ${image} --name ${name} --force\` to pull and pin it`;
    }
    const code = (err as { code?: unknown }).code;
    if (code === 'INTERPOLATION') {
      const variable = (err as { variable?: string }).variable ?? 'VAR';
      return `${state.doc.whereIs(name, 'config')}: ${(err as Error).message} (iii read its environment once, at start: set ${variable} and restart iii, or give a default with \${${variable}:default})`;
    }
    return `${state.doc.whereIs(name)}: worker "${name}": ${oneLine(err)}`;
  }

  /** Takes config.yaml and iii.lock as they are now as what the workers are compared against. */
  private adopt(state: ConfigState): void {
    for (const w of state.doc.workers) {
      const slot = this.slots.get(w.name);
      if (slot) slot.entry = w;
      else this.slots.set(w.name, { entry: w, restartsBefore: 0, busy: Promise.resolve() });
    }
    this.order = state.doc.workers.map((w) => w.name);
    this.pins = state.lock.workers;
  }

  private remember(state: ConfigState): void {
    this.applied = new Map(state.doc.workers.map((w) => [w.name, appliedKey(w, state)]));
  }

  private isFresh(name: string, state: ConfigState): boolean {
    const entry = state.doc.worker(name);
    return !entry || !isDeepStrictEqual(this.applied.get(name), appliedKey(entry, state));
  }

  /**
   * config.yaml order, read afresh (a worker added or removed since `iii` began shows as such); a
   * running worker no longer in config.yaml is listed after the others until it is stopped.
   */
  async list(): Promise<WorkerInfo[]> {
    const state = await this.readConfig().catch(() => undefined);
    const extra = [...this.slots.values()].filter((s) => !this.order.includes(s.entry.name) && s.worker);
    const slots = [...this.order.map((n) => this.slots.get(n)!), ...extra];
    const infos = await Promise.all(slots.map((s) => this.withConnection(this.info(s))));
    if (state) {
      for (const info of infos) if (this.configChanged(info.name, state)) info.configChanged = true;
    }
    // Only for the workers in trouble: a healthy worker's log is not read for a list.
    await Promise.all(
      infos
        // Not for one that could not start: its reason is `error`, and older lines would mislead.
        .filter((i) => i.status === 'restarting' || i.status === 'exited')
        .map(async (i) => {
          const lines = await this.lastOutput(i.name, LIST_OUTPUT_LINES);
          if (lines.length > 0) i.lastOutput = lines;
        }),
    );
    return infos;
  }

  /** Whether a running worker's spec differs from what config.yaml and iii.lock plan for it now. */
  private configChanged(name: string, state: ConfigState): boolean {
    const slot = this.slots.get(name);
    const entry = state.doc.worker(name);
    if (!slot?.worker || !slot.plan) return false;
    if (!entry || entry.enabled === false) return true;
    try {
      return !sameSpec(slot.plan, planWorker(entry, state.lock, this.options.env ?? process.env));
    } catch {
      return true;
    }
  }

  /** Adds whether a running worker's processes hold a connection to the engine. */
  private async withConnection<T extends WorkerInfo>(info: T): Promise<T> {
    const connections = this.engineConnections?.();
    if (!connections || info.pid === undefined) return info;
    const [held] = await connectionsHeldBy(info.pid, connections);
    info.connected = held !== undefined;
    if (held) {
      info.connectedSince = new Date(held.connectedAtMs).toISOString();
      info.connectionId = held.id;
    }
    return info;
  }

  /**
   * The last `n` lines a worker printed, from its log files (none when it never ran). A worker that
   * crashes often prints its configuration (a connection string): values it got from `${VAR}` are
   * masked unless `reveal`; `iii worker logs` still shows its output as it is.
   */
  private async lastOutput(name: string, n: number, reveal = false): Promise<string[]> {
    const dir = this.sandbox?.paths(name).logs ?? this.logDir(name);
    const slot = this.slots.get(name);
    const out: string[] = [];
    try {
      for await (const l of readLogs(dir, { tail: n }))
        out.push(slot && !reveal ? this.scrub(slot, l.line) : l.line);
    } catch {
      // No log files yet: nothing to show.
    }
    return out;
  }

  async inspect(name: string, options: { reveal?: boolean } = {}): Promise<WorkerDetails> {
    await this.readConfig().catch(() => undefined);
    const slot = this.slots.get(name);
    if (!slot) throw new UnknownWorkerError(name);
    const w = slot.worker;
    const process = w?.spec.process;
    const details: WorkerDetails = {
      ...this.info(slot),
      restartPolicy: slot.plan?.restart ?? slot.entry.restart ?? 'on-failure',
      network: slot.plan?.network ?? slot.entry.network ?? 'host',
      init: w ? w.init : (slot.plan?.init ?? slot.entry.init ?? true),
      resources: slot.plan?.resources ?? {},
      logDir: this.sandbox?.paths(name).logs ?? this.logDir(name),
    };
    if (process) {
      // The worker's own argv: an init before it is shown as `init`.
      details.argv = w?.init ? process.args.slice(2) : [...process.args];
      details.env = maskEnv(envMap(process.env), { written: slot.plan?.written, reveal: options.reveal });
    }
    const lines = await this.lastOutput(name, INSPECT_OUTPUT_LINES, options.reveal);
    if (lines.length > 0) details.lastOutput = lines;
    if (slot.imageRootfs) details.imageRootfs = slot.imageRootfs;
    if (w) {
      details.rootfs = w.rootfs.path;
      details.containerId = w.id;
    }
    if (this.sandbox) {
      details.runtime = this.sandbox.driver.name;
      const { mode, rootfsSupport } = this.sandbox;
      details.sandbox = {
        mode: mode.rootless ? 'rootless' : 'rootful',
        ...(mode.ids ? { idMap: mode.ids.subordinate ? ('subordinate' as const) : ('single' as const) } : {}),
        rootfs: rootfsSupport.kind,
        limitsEnforced: mode.limits.enforced,
        ...(mode.limits.enforced ? {} : { limitsNote: mode.limits.reason }),
      };
    }
    return this.withConnection(details);
  }

  /** Where a worker's logs are, whether or not it ever ran in this `iii`. */
  logDir(name: string): string {
    // Same layout as the sandbox's (`<state>/workers/<name>/logs`), without opening it.
    return `${this.project.sandbox}/workers/${name}/logs`;
  }

  async start(name: string): Promise<StartOutcome> {
    const state = await this.carryOverRenames(await this.readConfig());
    const entry = state.doc.worker(name);
    if (!entry) throw new UnknownWorkerError(name);
    if (entry.enabled === false) throw disabledError(name);
    const slot = this.slots.get(name)!;
    const started = await this.serialize(name, async () => {
      await this.forgetStop(slot);
      if (slot.worker) return false;
      await this.openSandbox();
      await this.launch(name, state, true);
      return true;
    });
    const outcome: StartOutcome = { worker: this.info(slot), started };
    const pinned = state.lock.workers[name]?.digest;
    if (!started && pinned && slot.plan && slot.plan.digest !== pinned) outcome.pinnedDigest = pinned;
    return outcome;
  }

  async stop(name: string, options: { timeoutMs?: number } = {}): Promise<WorkerInfo> {
    const slot = this.slots.get(name);
    if (!slot) {
      // Maybe added after `iii` began and never started: known to config.yaml, simply not running.
      await this.readConfig();
      if (!this.slots.has(name)) throw new UnknownWorkerError(name);
      const added = this.slots.get(name)!;
      await this.serialize(name, () => this.holdStopped(added));
      return this.info(added);
    }
    await this.serialize(name, async () => {
      await this.halt(slot, options.timeoutMs);
      await this.holdStopped(slot);
    });
    return this.info(slot);
  }

  async restart(name: string, options: { timeoutMs?: number } = {}): Promise<WorkerInfo> {
    const state = await this.readConfig();
    const entry = state.doc.worker(name);
    if (!entry) throw new UnknownWorkerError(name);
    if (entry.enabled === false) throw disabledError(name);
    const slot = this.slots.get(name)!;
    await this.serialize(name, async () => {
      await this.halt(slot, options.timeoutMs);
      await this.forgetStop(slot);
      await this.openSandbox();
      await this.launch(name, state, true);
    });
    return this.info(slot);
  }

  /**
   * Stops every worker at once (the whole takes one grace period, not one per worker), reporting each
   * as it stops and which are still being waited for, and leaves no container or mount behind.
   */
  async stopAll(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closing = true;
    const slots = [...this.slots.values()];
    const running = slots.filter((s) => s.worker).map((s) => s.entry.name);
    if (running.length > 0) {
      const grace = Math.round((options.timeoutMs ?? this.options.stopTimeoutMs ?? 10_000) / 1000);
      this.report(
        `stopping ${running.length} worker${running.length === 1 ? '' : 's'}: ${running.join(', ')} (SIGKILL after ${grace}s)`,
      );
    }
    const reported = new Set(running);
    await stopInParallel(
      slots.map((s) => s.entry.name),
      (name) => this.serialize(name, () => this.halt(this.slots.get(name)!, options.timeoutMs)),
      ({ name, error }) => {
        if (error) this.report(`worker "${name}": stopping failed: ${error.message}`);
        if (!reported.delete(name)) return;
        const left = running.filter((n) => reported.has(n));
        this.report(
          `worker "${name}" ${error ? 'given up on' : 'stopped'}${left.length > 0 ? `; waiting for ${left.join(', ')}` : ''}`,
        );
      },
    );
    if (this.sandbox) await this.sandbox.close(options);
  }

  /**
   * The engine's log sink: lines a worker logs through the SDK (`engine::log::*`, `/otel`) go to
   * its own log files, beside what it printed, so `iii worker logs` shows both.
   *
   * The name a line claims is not trusted: any local process that reaches the port could claim to
   * be `hello`. A line goes to the log of the worker whose processes hold the connection it came on,
   * as the kernel says (the check that decides CONNECTED), asked when it first logs and cached.
   * A line on a connection that holds the management token goes to the worker it names: the owner
   * may write those files anyway. Any other line is dropped, never put in a worker's log; the
   * engine's own output says so (rate-limited, with the peer's address) so a misplaced client is
   * not silent. Dropping rather than keeping them elsewhere: a file anyone on the machine can fill
   * would be one more thing to bound, and nothing reads it.
   */
  readonly logSink: LogSink = (claimed, level, message, data, origin) => {
    if (!origin || isOwner(origin.peer)) {
      this.writeSdkLine(claimed, level, message, data);
      return;
    }
    let entry = this.logOwners.get(origin);
    const t = this.now();
    // A connection no worker held is asked again after a second, no more often: its worker may have
    // logged before its sandbox's pid was known here (a line at start-up), yet a client that sends
    // many lines still costs one look at /proc a second at most.
    if (
      !entry ||
      (entry.checkedAt !== undefined && entry.name === undefined && t - entry.checkedAt >= 1000)
    ) {
      const next: LogOwner = { owner: Promise.resolve(undefined), waiting: 0 };
      next.owner = (entry?.owner ?? Promise.resolve(undefined))
        .then(() => this.connectionOwner(origin, claimed))
        .then((name) => {
          next.name = name;
          next.checkedAt = this.now();
          return name;
        });
      entry = next;
      this.logOwners.set(origin, entry);
    }
    // Lines of one connection wait on the same chain, so they keep their order; a client that
    // sends faster than it can be checked loses lines rather than the engine its memory.
    if (entry.waiting >= MAX_LINES_WAITING_FOR_OWNER) {
      this.reportDroppedLog(origin);
      return;
    }
    const waitingOn = entry;
    waitingOn.waiting++;
    void waitingOn.owner.then((name) => {
      waitingOn.waiting--;
      if (name !== undefined) this.writeSdkLine(name, level, message, data);
      else this.reportDroppedLog(origin);
    });
  };

  /** Which worker of this project holds a connection, per connection (a WeakMap: gone with it). */
  private readonly logOwners = new WeakMap<LogOrigin, LogOwner>();
  private droppedLogReportAt = Number.NEGATIVE_INFINITY;
  private droppedLogsSince = 0;
  private readonly droppedLogConnections = new WeakSet<LogOrigin>();

  /**
   * The running worker whose processes hold `origin`, trying the name it claims first. A worker logs
   * as soon as it runs, which can be before its sandbox's pid is known here: while the worker it
   * claims to be is still starting, the kernel is asked again (every 25 ms, 5 s at most) rather than
   * its first lines dropped.
   */
  private async connectionOwner(origin: LogOrigin, claimed: string): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      const found = await this.holderOf(origin, claimed);
      if (found !== undefined || attempt >= STARTING_RECHECKS || !this.startingWithoutPid(claimed)) {
        return found;
      }
      await new Promise((resolve) => setTimeout(resolve, STARTING_RECHECK_MS));
    }
  }

  /** Whether the worker `name` of this project is being started and has no process yet. */
  private startingWithoutPid(name: string): boolean {
    const slot = this.slots.get(name);
    if (!slot) return false;
    return slot.worker ? slot.worker.state().status === 'starting' : slot.status === 'starting';
  }

  /** One look at the processes of the running workers, for {@link connectionOwner}. */
  private async holderOf(origin: LogOrigin, claimed: string): Promise<string | undefined> {
    const names = [...this.slots.keys()].sort((a, b) => Number(b === claimed) - Number(a === claimed));
    for (const name of names) {
      const pid = this.slots.get(name)?.worker?.state().pid;
      if (pid === undefined) continue;
      const held = await connectionsHeldBy(pid, [origin]).catch(() => []);
      if (held.length > 0) return name;
    }
    return undefined;
  }

  /** Says that a connection's lines were dropped: once per connection, at most once in 10 s. */
  private reportDroppedLog(origin: LogOrigin): void {
    if (this.droppedLogConnections.has(origin)) return;
    this.droppedLogConnections.add(origin);
    const t = this.now();
    if (t - this.droppedLogReportAt < 10_000) {
      this.droppedLogsSince++;
      return;
    }
    const more =
      this.droppedLogsSince > 0 ? ` (and from ${this.droppedLogsSince} more since the last notice)` : '';
    this.droppedLogReportAt = t;
    this.droppedLogsSince = 0;
    this.report(
      `dropped SDK log lines from ${origin.peer.address}: no worker of this project holds that connection${more}`,
    );
  }

  private writeSdkLine(name: string, level: WorkerLogLevel, message: string, data: unknown): void {
    const worker = this.slots.get(name)?.worker;
    if (!worker) return;
    const stream: LogStream = level === 'error' || level === 'warn' ? 'stderr' : 'stdout';
    const suffix = data === undefined || data === null ? '' : ` ${safeJson(data)}`;
    worker.note(stream, `[${level}] ${message}${suffix}`);
  }

  private serialize<T>(name: string, work: () => Promise<T>): Promise<T> {
    const slot = this.slots.get(name)!;
    const next = slot.busy.then(work, work);
    slot.busy = next.catch(() => {});
    return next;
  }

  private async launch(name: string, state: ConfigState, userAsked = false, quiet = false): Promise<void> {
    const slot = this.slots.get(name)!;
    if (this.closing) return;
    slot.status = 'starting';
    delete slot.error;
    try {
      const plan = planWorker(slot.entry, state.lock, this.options.env ?? process.env);
      slot.plan = plan;
      const sandbox = await this.openSandbox();
      const image = await loadWorkerImage(this.paths, name, plan.digest, {
        stack: (layers) => sandbox.stackProblem(name, layers),
      });
      if (image.fallback) {
        this.reportAbout(slot, `worker "${name}" runs on a merged copy of its image: ${image.fallback}`);
      }
      slot.imageRootfs = image.rootfs;
      const worker = await sandbox.start({
        ...(await workerStartDefinition({
          plan,
          image,
          engineUrl: this.engineUrl ?? DEFAULT_ENGINE_URL,
          stopTimeoutMs: this.options.stopTimeoutMs ?? 10_000,
        })),
        // config.yaml is read again before each restart: a worker removed by hand meanwhile ends.
        beforeRestart: () => this.stillConfigured(name),
      });
      slot.worker = worker;
      delete slot.status;
      worker.on('state', (s) => {
        if (s.status === 'restarting' && s.exitCode !== undefined) {
          this.reportAbout(
            slot,
            `worker "${name}" exited with code ${s.exitCode}${s.oomKilled ? ' (OOM killed)' : ''}; restarting in ${Math.round((s.restartDelayMs ?? 0) / 1000)}s`,
          );
        }
      });
      void worker.whenDone().then((final) => {
        if (slot.worker !== worker) return;
        slot.last = final;
        slot.restartsBefore += final.restarts;
        delete slot.worker;
        if (final.status === 'exited' && !this.closing) {
          this.reportAbout(
            slot,
            `worker "${name}" exited with code ${final.exitCode ?? '?'}${final.error ? ` (${final.error})` : ''}; not restarted (restart: ${plan.restart})`,
          );
        }
      });
      if (!quiet && (userAsked || image.unpacked)) this.report(`worker "${name}" started`);
      for (const note of worker.notes) this.report(`worker "${name}": ${note}`);
    } catch (err) {
      this.fail(slot, err);
      if (userAsked) throw err;
    }
  }

  /** Remembers that the user stopped the worker, so a restart of `iii` does not start it. */
  private async holdStopped(slot: Slot): Promise<void> {
    slot.stoppedAt ??= new Date(this.now()).toISOString();
    if (!slot.worker && slot.status !== 'starting') slot.status = 'stopped';
    await writeWorkerRunState(this.project, slot.entry.name, { stoppedAt: slot.stoppedAt });
  }

  private async forgetStop(slot: Slot): Promise<void> {
    delete slot.stoppedAt;
    await writeWorkerRunState(this.project, slot.entry.name, {});
  }

  /** Whether config.yaml still names the worker (a file that cannot be read now changes nothing). */
  private async stillConfigured(name: string): Promise<boolean> {
    if (this.closing) return false;
    const state = await loadConfig(this.options.configPath).catch(() => undefined);
    const entry = state?.doc.worker(name);
    if (!state || (entry && entry.enabled !== false)) return true;
    this.report(
      entry
        ? `worker "${name}" has enabled: false in config.yaml; not restarted`
        : `worker "${name}" is no longer in config.yaml; not restarted`,
    );
    return false;
  }

  /**
   * A worker renamed in config.yaml by hand keeps its pin: the pin of the old name goes to the new
   * one when it names the same image (see `carryOverRenamedPins`), written to iii.lock.
   */
  private async carryOverRenames(state: ConfigState): Promise<ConfigState> {
    if (carryOverRenamedPins(state.lock, state.doc.workers).renamed.length === 0) return state;
    const { lock, renamed } = await editConfig(this.options.configPath, (current) => {
      const carried = carryOverRenamedPins(current.lock, current.doc.workers);
      return { lock: carried.lock, result: carried };
    });
    for (const r of renamed) {
      this.report(
        `worker "${r.to}" keeps the pin of "${r.from}" (renamed in config.yaml): ${lock.workers[r.to]?.digest.slice(0, 19)}…`,
      );
    }
    this.pins = lock.workers;
    return { ...state, lock };
  }

  private async halt(slot: Slot, timeoutMs: number | undefined): Promise<void> {
    const worker = slot.worker;
    if (!worker) {
      if (slot.status === 'starting') slot.status = 'stopped';
      if (slot.last) slot.status = 'stopped';
      return;
    }
    const final = await worker.stop({ timeoutMs: timeoutMs ?? this.options.stopTimeoutMs ?? 10_000 });
    if (slot.worker === worker) {
      slot.last = final;
      slot.restartsBefore += final.restarts;
      delete slot.worker;
    }
    slot.status = 'stopped';
  }

  private fail(slot: Slot, err: unknown): void {
    // Errors that already name the worker are not prefixed twice.
    const message = this.scrub(
      slot,
      ((err as Error).message ?? String(err)).replace(`worker "${slot.entry.name}": `, ''),
    );
    slot.status = 'not started';
    slot.error = message;
    const hint = (err as { hint?: unknown }).hint;
    this.reportAbout(
      slot,
      `worker "${slot.entry.name}" skipped: ${message}${typeof hint === 'string' ? ` (${hint})` : ''}`,
    );
  }

  /** A value filled from `${VAR}` never reaches the log, `list` or an error, even quoted by a runtime. */
  private scrub(slot: Slot, text: string): string {
    return slot.plan ? scrubSecrets(text, slot.plan.substituted) : text;
  }

  private reportAbout(slot: Slot, message: string): void {
    this.report(this.scrub(slot, message));
  }

  private info(slot: Slot): WorkerInfo {
    const live = slot.worker?.state();
    const s = live ?? slot.last;
    const info: WorkerInfo = {
      name: slot.entry.name,
      image: slot.entry.image,
      status: live
        ? live.status
        : slot.entry.enabled === false
          ? 'disabled'
          : (slot.status ?? (slot.last ? slot.last.status : 'not started')),
      restarts: slot.restartsBefore + (live?.restarts ?? 0),
    };
    if (slot.plan) info.digest = slot.plan.digest;
    if (slot.stoppedAt && !live) info.stoppedAt = slot.stoppedAt;
    // After `update` or `add --force` it runs its old image until it is restarted: say so.
    const pinned = this.pins[slot.entry.name]?.digest;
    if (live && slot.plan && pinned && pinned !== slot.plan.digest) info.pinnedDigest = pinned;
    if (live?.pid) info.pid = live.pid;
    if (live?.status === 'running' && live.startedAt !== undefined) {
      info.startedAt = new Date(live.startedAt).toISOString();
      info.uptimeMs = Math.max(0, this.now() - live.startedAt);
    }
    if (s?.exitCode !== undefined) info.lastExitCode = s.exitCode;
    if (live?.status === 'restarting' && live.nextStartAt !== undefined) {
      info.nextRestartAt = new Date(live.nextStartAt).toISOString();
    }
    if (s?.oomKilled) info.oomKilled = true;
    const error = slot.error ?? s?.error;
    if (error) info.error = this.scrub(slot, error);
    return info;
  }
}

/** What a worker's entry and pin were when last applied. */
function appliedKey(entry: WorkerEntry, state: ConfigState): unknown {
  return { entry, pin: state.lock.workers[entry.name] };
}

/** An error as one line, with its hint. */
function oneLine(err: unknown): string {
  const message = ((err as Error).message ?? String(err)).split('\n')[0] ?? '';
  const hint = (err as { hint?: unknown }).hint;
  return typeof hint === 'string' ? `${message} (${hint})` : message;
}

function disabledError(name: string): ManagerError {
  return new ManagerError(
    'WORKER_DISABLED',
    `worker "${name}" has enabled: false in config.yaml`,
    `Remove \`enabled: false\` from its entry (or set it to true), then run \`iii worker start ${name}\`.`,
  );
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** `KEY=value` entries as a map (later entries win, as in the process). */
function envMap(env: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    const eq = e.indexOf('=');
    out[eq < 0 ? e : e.slice(0, eq)] = eq < 0 ? '' : e.slice(eq + 1);
  }
  return out;
}
