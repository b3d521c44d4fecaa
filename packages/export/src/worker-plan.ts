import { flattenConfig, interpolationParts, type LockFile, type WorkerEntry } from '@iii/config';
import { planWorker, type WorkerAddress } from '@iii/engine';
import type { SandboxImageConfig } from '@iii/sandbox';
import { planWorkerProcess } from '@iii/workers';
import { UnmappableKeyError } from './errors.js';

/** Where one variable of a worker's environment comes from in the exported objects. */
export type EnvSource =
  /** A value written into the manifest. */
  | { value: string }
  /** A value the cluster fills from a Secret (Compose: from its own environment), as config.yaml wrote it. */
  | { secretKey: string; written: string };

/** One worker as the orchestrator runs it. */
export interface ExportedWorker {
  /** The worker's name in config.yaml. */
  name: string;
  /** Its DNS-1123 object name. */
  objectName: string;
  /** `repository@sha256:...`: the pinned image. */
  image: string;
  /** The variables iii gives the worker beyond those its image sets itself, in iii's order. */
  env: { name: string; from: EnvSource }[];
  /**
   * ENTRYPOINT + CMD as iii runs them, only when they differ from the image's own (a `--url`
   * value replaced by the engine address); otherwise the image's are left untouched.
   */
  argv?: (string | { secretKey: string; written: string; prefix?: string })[];
  address: WorkerAddress;
  resources: { cpus?: number; memory?: number };
  restart: 'always' | 'on-failure' | 'never';
  /** Whether `restart:` is written in config.yaml (not the default). */
  restartWritten: boolean;
  network: 'host' | 'none';
  /** `init:` (default true): the worker runs below an init, not as PID 1 of its pid namespace. */
  init: boolean;
}

export interface PlanWorkerInput {
  entry: WorkerEntry;
  lock: LockFile;
  objectName: string;
  imageConfig: SandboxImageConfig;
  /** The reference the orchestrator pulls: `repository@digest`. */
  image: string;
  /** The engine address the worker dials unless config.yaml sets its own. */
  engineUrl: string;
  /** Resolve `${VAR}` from this environment into plain values instead of Secret references. */
  inlineEnv?: Record<string, string | undefined>;
}

/** The keys iii sets for every worker itself (besides `config:`). */
const III_KEYS = new Set(['OTEL_SERVICE_NAME', 'III_WORKER_NAME', 'III_ENGINE_URL', 'III_URL']);
const SECRET_KEY_RE = /^[-._a-zA-Z0-9]+$/;

/**
 * How one worker runs elsewhere, computed by the code `iii` runs it with: the entry resolved
 * against iii.lock and flattened by `planWorker`, argv and environment (with the engine address
 * rule) by `planWorkerProcess`. Without `inlineEnv`, every `${VAR}` is given a marker value first, so
 * the keys it reaches (and the address, when a user's III_URL holds one) become Secret references.
 */
export async function planExportedWorker(input: PlanWorkerInput): Promise<ExportedWorker> {
  const { entry } = input;
  const marker = `iii-export-${Math.random().toString(36).slice(2)}`;
  const env = input.inlineEnv ?? markerEnv(entry, marker);
  const plan = planWorker(entry, input.lock, env);
  const process = await planWorkerProcess({
    imageConfig: input.imageConfig,
    name: entry.name,
    config: plan.config,
    engineUrl: input.engineUrl,
  });
  const written = input.inlineEnv ? {} : plan.written;
  const secret = (key: string) => {
    if (!SECRET_KEY_RE.test(key)) throw new UnmappableKeyError(entry.name, key);
    return { secretKey: key, written: written[key]! };
  };
  const addressSecret =
    process.address.rule === 'config' && process.address.key && process.address.key in written
      ? secret(process.address.key)
      : undefined;

  const exportedEnv: ExportedWorker['env'] = [];
  for (const line of process.env) {
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    // The rest (image ENV, PATH, HOME, HOSTNAME) the container runtime sets from the image itself.
    if (!(key in plan.config) && !III_KEYS.has(key)) continue;
    if (key in written) exportedEnv.push({ name: key, from: secret(key) });
    else if (addressSecret && (key === 'III_URL' || key === 'III_ENGINE_URL'))
      exportedEnv.push({ name: key, from: addressSecret });
    else exportedEnv.push({ name: key, from: { value } });
  }

  const c = input.imageConfig.config ?? {};
  const imageArgv = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  const argvChanged =
    process.argv.length !== imageArgv.length || process.argv.some((a, i) => a !== imageArgv[i]);
  const argv = argvChanged
    ? process.argv.map((arg) =>
        addressSecret && arg === process.address.url
          ? addressSecret
          : // `--url=<address>`
            addressSecret && arg === `--url=${process.address.url}`
            ? { ...addressSecret, prefix: '--url=' }
            : arg,
      )
    : undefined;

  return {
    name: entry.name,
    objectName: input.objectName,
    image: input.image,
    env: exportedEnv,
    ...(argv ? { argv } : {}),
    address: process.address,
    resources: plan.resources,
    restart: plan.restart,
    restartWritten: entry.restart !== undefined,
    network: plan.network,
    init: plan.init,
  };
}

/** Every `${VAR}` of the entry's `config:` set to a marker, so none is read from this shell. */
function markerEnv(entry: WorkerEntry, marker: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of Object.values(flattenConfig(entry.config))) {
    for (const part of interpolationParts(value)) {
      if ('variable' in part) env[part.variable] = `${marker}-${part.variable}`;
    }
  }
  return env;
}
