import { lstat } from 'node:fs/promises';
import {
  DEFAULT_ENGINE_HOST,
  DEFAULT_ENGINE_PORT,
  DEFAULT_RESTART_POLICY,
  flattenConfig,
  formatBytes,
  InterpolationError,
  iiiPaths,
  loadConfig,
  maskSecrets,
  resolveConfigPath,
  WorkerNotFoundError,
} from '@iii/config';
import type { WorkerDetails } from '@iii/engine';
import { ImageStore, rootfsPath } from '@iii/oci';
import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { imagePresent } from '../../lib/image-presence.js';
import { runningEngine } from '../../lib/running-engine.js';
import { configFlag } from '../../lib/worker-flags.js';

interface InspectResult {
  name: string;
  image: string;
  digest: string | null;
  index: string | null;
  platform: string | null;
  /** Compressed size of the image (manifest, config and layers) in the store, in bytes. */
  size: number | null;
  present: boolean;
  rootfs: string | null;
  entrypoint: string[];
  cmd: string[];
  argv: string[];
  user: string | null;
  workingDir: string | null;
  env: Record<string, string>;
  unresolved: string[];
  resources: Record<string, unknown> | null;
  restart: string;
  network: string;
  logs: string;
  state: string;
  /** Run-time state from the running `iii` (status, pid, restarts, last exit, sandbox), or null. */
  run: WorkerDetails | null;
}

export default class WorkerInspect extends BaseCommand {
  static override summary = 'Show everything known about a worker.';
  static override description =
    'Image reference, pinned digest and platform, size, unpacked rootfs, entrypoint and argv as run, environment (values of secret-looking keys masked), resources and log location.';
  static override examples = [
    '<%= config.bin %> worker inspect image-resize',
    '<%= config.bin %> worker inspect image-resize --json',
  ];
  static override enableJsonFlag = true;
  static override args = { name: Args.string({ description: 'Worker name.', required: true }) };
  static override flags = { config: configFlag };

  async run(): Promise<InspectResult> {
    const { args, flags } = await this.parse(WorkerInspect);
    const configPath = resolveConfigPath({ flag: flags.config });
    const { doc, lock } = await loadConfig(configPath);
    const entry = doc.worker(args.name);
    if (!entry) throw new WorkerNotFoundError(args.name, configPath);
    const paths = iiiPaths();
    const store = new ImageStore(paths.store);
    const pin = lock.workers[entry.name];
    const engine = await runningEngine(paths.home).catch(() => undefined);
    const host = doc.config.engine?.host ?? DEFAULT_ENGINE_HOST;
    const port = doc.config.engine?.port ?? DEFAULT_ENGINE_PORT;
    const engineUrl = engine?.address ?? `ws://${host}:${port}`;

    let imageEnv: string[] = [];
    let entrypoint: string[] = [];
    let cmd: string[] = [];
    let user: string | null = null;
    let workingDir: string | null = null;
    let size: number | null = null;
    let present = false;
    if (pin) {
      present = await imagePresent(store, paths.rootfs, pin.digest);
      try {
        const image = await store.openDigest(pin.digest);
        const manifest = await image.manifest();
        const raw = await image.rawManifest();
        size = raw.bytes.length + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
        const rc = (await image.config()).config ?? {};
        imageEnv = rc.Env ?? [];
        entrypoint = rc.Entrypoint ?? [];
        cmd = rc.Cmd ?? [];
        user = rc.User || null;
        workingDir = rc.WorkingDir || null;
      } catch {
        // Not in the store: shown as missing; `iii worker sync` fetches it.
      }
    }

    // Same precedence as at start: image Env < config: < the variables iii sets.
    const env: Record<string, string> = {};
    for (const line of imageEnv) {
      const eq = line.indexOf('=');
      env[eq < 0 ? line : line.slice(0, eq)] = eq < 0 ? '' : line.slice(eq + 1);
    }
    const unresolved: string[] = [];
    const raw = flattenConfig(entry.config);
    for (const [key, value] of Object.entries(raw)) {
      try {
        Object.assign(env, flattenConfig({ [key]: value }, { env: process.env, worker: entry.name }));
      } catch (err) {
        if (!(err instanceof InterpolationError)) throw err;
        env[key] = value;
        unresolved.push(`${key} (\${${err.variable}} is not set here)`);
      }
    }
    const url = env.III_ENGINE_URL ?? env.III_URL ?? engineUrl;
    env.III_WORKER_NAME = entry.name;
    env.III_ENGINE_URL = url;
    env.III_URL = url;
    const argv = [...entrypoint, ...cmd];
    const urlAt = argv.indexOf('--url');
    if (urlAt >= 0 && urlAt + 1 < argv.length) argv[urlAt + 1] = url;

    // The engine package is loaded only when iii runs (see running-engine.ts).
    const engineApi = engine ? await import('@iii/engine') : undefined;
    const live = engineApi
      ? await engineApi.runningWorkerDetails({ home: paths.home, name: entry.name })
      : undefined;
    const logs = (engineApi ?? (await import('@iii/engine'))).workerLogsDir(paths.home, entry.name);

    const rootfs = pin ? rootfsPath(paths.rootfs, pin.digest) : null;
    const rootfsExists = rootfs
      ? (await lstat(rootfs).catch(() => undefined))?.isDirectory() === true
      : false;
    const result: InspectResult = {
      name: entry.name,
      image: entry.image,
      digest: pin?.digest ?? null,
      index: pin?.index ?? null,
      platform: pin?.platform ?? null,
      size,
      present,
      rootfs: rootfsExists ? rootfs : null,
      entrypoint,
      cmd,
      argv,
      user,
      workingDir,
      env: maskSecrets(sortKeys(env)),
      unresolved,
      resources: (entry.resources as Record<string, unknown> | null | undefined) ?? null,
      restart: entry.restart ?? DEFAULT_RESTART_POLICY,
      network: entry.network ?? 'host',
      logs,
      state: live ? stateText(live) : engine ? 'not started' : 'not running (iii is not running)',
      run: live ?? null,
    };
    if (!this.jsonEnabled()) this.print(result, pin !== undefined);
    return result;
  }

  private print(r: InspectResult, pinned: boolean): void {
    const lines: string[] = [];
    const row = (k: string, v: string) => lines.push(`${`${k}:`.padEnd(12)}${v}`);
    row('Name', r.name);
    row('Image', r.image);
    row('Digest', r.digest ?? 'not pinned (run `iii worker update`)');
    if (r.index) row('Index', r.index);
    if (r.platform) row('Platform', r.platform);
    if (pinned) row('Present', r.present ? 'yes' : 'no (run `iii worker sync`)');
    if (r.size !== null) row('Size', formatBytes(r.size));
    if (r.rootfs) row('Rootfs', r.rootfs);
    row('Argv', r.argv.length > 0 ? JSON.stringify(r.argv) : '(none)');
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
        `${sandbox.mode}, rootfs ${sandbox.rootfs}, ${sandbox.limitsEnforced ? 'limits enforced' : `limits not enforced (${sandbox.limitsNote ?? 'no cgroup'})`}`,
      );
    }
    row('Restart', r.restart);
    row('Network', r.network);
    row('Logs', r.logs);
    row('State', r.state);
    if (r.run?.pid) row('PID', String(r.run.pid));
    if (r.run?.startedAt) row('Started', r.run.startedAt);
    if (r.run) row('Restarts', String(r.run.restarts));
    if (r.run?.containerId) row('Container', `${r.run.containerId} (${r.run.runtime ?? 'runtime'})`);
    if (r.run?.rootfs) row('Root', r.run.rootfs);
    lines.push('Env:');
    for (const [k, v] of Object.entries(r.env)) lines.push(`  ${k}=${v}`);
    for (const u of r.unresolved) lines.push(`Unresolved: ${u}`);
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

function sortKeys(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
