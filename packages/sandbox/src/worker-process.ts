import type { SandboxImageConfig, SandboxWorkerEntry } from './spec.js';

/** The keys that carry the engine's address to a worker, in the order a user's value is looked up. */
export const ENGINE_URL_KEYS = ['III_ENGINE_URL', 'III_URL'] as const;
export type EngineUrlKey = (typeof ENGINE_URL_KEYS)[number];

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The address a worker is given, and which rule chose it. */
export interface WorkerAddress {
  url: string;
  /**
   * `engine`: the address of the engine that runs the worker (config.yaml has no value of its own
   * for III_ENGINE_URL/III_URL, or only the image's default); `config`: the user's value of `key`.
   */
  rule: 'engine' | 'config';
  /** The config.yaml key whose value was used (rule `config`) or recognised as the image's default (rule `engine`). */
  key?: EngineUrlKey;
  /** The rule in words, e.g. `the engine's address (III_URL in config.yaml is the image's default)`. */
  reason: string;
}

/** How a worker's process is started: what runc runs, with which environment, dialling which engine. */
export interface WorkerProcess {
  /** ENTRYPOINT + CMD, with the value of `--url` set to the chosen address. */
  argv: string[];
  /** `KEY=value` entries, in the order they are set. */
  env: string[];
  address: WorkerAddress;
}

/** What {@link workerProcess} plans a worker's argv and environment from: image config, entry, engine address. */
export interface WorkerProcessInput {
  imageConfig: SandboxImageConfig;
  /** The entry, with `config` interpolated and flattened into variables. */
  worker: SandboxWorkerEntry;
  /** The engine's address, e.g. `ws://127.0.0.1:49134` (a wildcard host is dialled on loopback). */
  engineUrl: string;
  /** HOME when the image sets none: the home of the image's USER in its /etc/passwd. Default `/`. */
  home?: string;
}

/**
 * A wildcard listen address cannot be dialled; workers share the host network, so loopback
 * reaches the engine listening on it.
 */
export function dialableEngineUrl(url: string): string {
  return url.replace('ws://0.0.0.0:', 'ws://127.0.0.1:').replace('ws://[::]:', 'ws://[::1]:');
}

/** `KEY=value` lines as a map; later lines win, as in a process environment. */
export function envEntries(lines: readonly string[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of lines) {
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === '') continue;
    env.delete(key);
    env.set(key, eq < 0 ? '' : line.slice(eq + 1));
  }
  return env;
}

/**
 * The address rule. `worker add` copies the image's ENV into `config:`, so a value there equal to
 * the image's own default for that key was not chosen by the user: it is the image author's "the
 * engine that runs me" (usually `ws://localhost:49134`), and the worker gets the engine's real
 * address. A value the user changed (or set where the image has none) is theirs and wins.
 */
export function workerAddress(
  imageConfig: SandboxImageConfig,
  worker: SandboxWorkerEntry,
  engineUrl: string,
): WorkerAddress {
  const imageEnv = envEntries(imageConfig.config?.Env ?? []);
  const url = dialableEngineUrl(engineUrl);
  let imageDefault: EngineUrlKey | undefined;
  for (const key of ENGINE_URL_KEYS) {
    const value = worker.config?.[key];
    // An empty value would leave the worker nothing to dial: treated as unset.
    if (value === undefined || value === '') continue;
    const fromImage = imageEnv.get(key);
    if (fromImage === undefined || value !== fromImage) {
      return {
        url: value,
        rule: 'config',
        key,
        reason: `the user's value of ${key} in config.yaml (${fromImage === undefined ? 'the image sets no default for it' : "differs from the image's default"})`,
      };
    }
    imageDefault ??= key;
  }
  if (imageDefault) {
    return {
      url,
      rule: 'engine',
      key: imageDefault,
      reason: `the engine's address (${imageDefault} in config.yaml is the image's default)`,
    };
  }
  return {
    url,
    rule: 'engine',
    reason: "the engine's address (config.yaml sets no III_ENGINE_URL or III_URL)",
  };
}

/**
 * ENTRYPOINT + CMD, with the value of every `--url <v>` / `--url=<v>` replaced by `url`, so binary
 * workers built with a default URL dial the address chosen for them.
 */
export function buildArgv(imageConfig: SandboxImageConfig, url: string): string[] {
  const c = imageConfig.config ?? {};
  const argv = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  return argv.map((arg, i) => {
    if (i > 0 && argv[i - 1] === '--url') return url;
    if (arg.startsWith('--url=')) return `--url=${url}`;
    return arg;
  });
}

/**
 * The worker environment, later wins: defaults (PATH, HOSTNAME, HOME) < image Env <
 * OTEL_SERVICE_NAME < worker config < III_WORKER_NAME, III_ENGINE_URL, III_URL.
 */
export function buildEnv(
  imageConfig: SandboxImageConfig,
  worker: SandboxWorkerEntry,
  address: WorkerAddress,
  home = '/',
): string[] {
  const env = envEntries([
    DEFAULT_PATH,
    `HOSTNAME=${hostnameOf(worker.name)}`,
    `HOME=${home}`,
    ...(imageConfig.config?.Env ?? []),
    // The official SDK's Logger reports through OpenTelemetry; the service name says whose lines they are.
    `OTEL_SERVICE_NAME=${worker.name}`,
    ...Object.entries(worker.config ?? {}).map(([k, v]) => `${k}=${v}`),
  ]);
  for (const [k, v] of [
    ['III_WORKER_NAME', worker.name],
    ['III_ENGINE_URL', address.url],
    ['III_URL', address.url],
  ] as const) {
    env.delete(k);
    env.set(k, v);
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/**
 * The one computation of how a worker runs (argv, environment, engine address), shared by the
 * sandbox's runtime spec and `iii worker inspect`, so what inspect shows is what runs. Pure.
 */
export function workerProcess(input: WorkerProcessInput): WorkerProcess {
  const address = workerAddress(input.imageConfig, input.worker, input.engineUrl);
  return {
    argv: buildArgv(input.imageConfig, address.url),
    env: buildEnv(input.imageConfig, input.worker, address, input.home),
    address,
  };
}

/** The UTS hostname of a worker's sandbox (a hostname is at most 63 bytes). */
export function hostnameOf(name: string): string {
  return name.slice(0, 63);
}
