import { DEFAULT_ENGINE_PORT, interpolationParts, loadConfig } from '@iii/config';
import {
  ImageNotFoundError,
  type ImageStore,
  type PushOptions,
  parseImageSourceRef,
  parseReference,
  pushImage,
  Reference,
  type RegistryClient,
} from '@iii/oci';
import type { SandboxImageConfig } from '@iii/sandbox';
import {
  ExportError,
  ImageNotInStoreError,
  InvalidEngineUrlError,
  LocalImagesError,
  NoEngineError,
} from './errors.js';
import { ENGINE_NAME, objectName, objectNames } from './names.js';
import { type ExportedWorker, planExportedWorker } from './worker-plan.js';

/** The port the engine image listens on (`iii start` without --port). */
export const ENGINE_CONTAINER_PORT = DEFAULT_ENGINE_PORT;

/** Everything an exporter writes from: the workers as iii runs them and where their engine is. */
export interface ExportPlan {
  workers: ExportedWorker[];
  /** Kubernetes namespace of every object (none: the one `kubectl` applies to). */
  namespace?: string;
  /** The address workers dial unless config.yaml sets their own. */
  engineUrl: string;
  /** The engine to run, unless `--engine-url` names one that already runs. */
  engine?: { image: string; port: number; containerPort: number };
}

/** A key the user provides (a Secret key; in Compose, variables of its environment). */
export interface SecretKey {
  key: string;
  /** The value as config.yaml writes it, `${VAR}` and all. */
  written: string;
  /** The `${VAR}`s it is made of. */
  variables: string[];
}

/** The keys of a worker's environment that come from its Secret, each once. */
export function secretKeysOf(worker: ExportedWorker): SecretKey[] {
  const keys = new Map<string, SecretKey>();
  for (const { from } of worker.env) {
    if ('value' in from || keys.has(from.secretKey)) continue;
    const variables = interpolationParts(from.written).flatMap((p) => ('variable' in p ? [p.variable] : []));
    keys.set(from.secretKey, { key: from.secretKey, written: from.written, variables });
  }
  return [...keys.values()];
}

/** What to export to: Kubernetes manifests or a Compose file. */
export type ExportTarget = 'kubernetes' | 'compose';

/** Options of {@link planExport}: the project, the store, the target and what to name, push and run. */
export interface PlanExportOptions {
  configPath: string;
  store: ImageStore;
  target: ExportTarget;
  namespace?: string;
  /** The engine image to run (a Deployment + Service, or a Compose service). */
  engineImage?: string;
  /** An engine that already runs: workers dial it and no engine is emitted. */
  engineUrl?: string;
  /** Resolve `${VAR}` from this environment into the output instead of referencing a Secret. */
  inlineEnv?: Record<string, string | undefined>;
  /** Push images that exist on this machine only under `<pushTo>/<worker>` and use the pushed digests. */
  pushTo?: string;
  /** The registry client for `pushTo`. */
  client?: RegistryClient;
  onPushProgress?: PushOptions['onProgress'];
  /** Told of each image pushed for `pushTo`. */
  onPushed?: (worker: string, reference: string) => void;
  signal?: AbortSignal;
}

const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Reads config.yaml and iii.lock, checks that a cluster can pull every image (pushing local ones
 * with `pushTo`), and plans every worker with the code `iii` runs it with.
 */
export async function planExport(options: PlanExportOptions): Promise<ExportPlan> {
  const { doc, lock } = await loadConfig(options.configPath);
  const entries = doc.config.workers ?? [];
  const names = objectNames(entries.map((e) => e.name));
  if (
    options.namespace !== undefined &&
    !(NAMESPACE_RE.test(options.namespace) && options.namespace.length <= 63)
  ) {
    throw new ExportError(
      'INVALID_NAMESPACE',
      `--namespace ${options.namespace} is not a Kubernetes namespace name`,
      'Use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit.',
    );
  }
  if (options.engineUrl !== undefined && !/^wss?:\/\/[^/\s]+/.test(options.engineUrl)) {
    throw new InvalidEngineUrlError(options.engineUrl);
  }
  if (options.engineUrl === undefined && options.engineImage === undefined) throw new NoEngineError();

  const port = doc.config.engine?.port ?? DEFAULT_ENGINE_PORT;
  const engineUrl =
    options.engineUrl ??
    (options.target === 'kubernetes' && options.namespace
      ? `ws://${ENGINE_NAME}.${options.namespace}.svc:${port}`
      : options.target === 'kubernetes'
        ? `ws://${ENGINE_NAME}:${port}`
        : // Compose services reach each other on the ports they listen on.
          `ws://${ENGINE_NAME}:${ENGINE_CONTAINER_PORT}`);

  const local = entries.filter((e) => parseImageSourceRef(e.image).transport !== 'registry');
  if (local.length > 0 && options.pushTo === undefined) {
    throw new LocalImagesError(local.map((e) => ({ name: e.name, image: e.image })));
  }

  const workers: ExportedWorker[] = [];
  for (const entry of entries) {
    const pin = lock.workers[entry.name];
    const imageConfig: SandboxImageConfig =
      pin && pin.image === entry.image ? await storedConfig(options.store, entry.name, pin.digest) : {};
    let image = '';
    // An unpinned or stale pin is reported by planExportedWorker, before anything is pushed.
    if (pin && pin.image === entry.image) {
      const source = parseImageSourceRef(entry.image);
      if (source.transport === 'registry') {
        const ref = source.reference;
        image = new Reference({
          registry: ref.registry,
          repository: ref.repository,
          digest: pin.digest,
        }).toString();
      } else {
        const tag = 'tag' in source && source.tag ? source.tag : 'latest';
        const target = parseReference(`${options.pushTo}/${objectName(entry.name)}:${tag}`);
        const stored = await options.store.openDigest(pin.digest);
        if (!options.client) throw new Error('planExport: pushTo needs a registry client');
        const { digest } = await pushImage(stored, target, {
          client: options.client,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.onPushProgress ? { onProgress: options.onPushProgress } : {}),
        });
        image = target.with({ digest }).toString().replace(`:${tag}@`, '@');
        options.onPushed?.(entry.name, image);
      }
    }
    workers.push(
      await planExportedWorker({
        entry,
        lock,
        objectName: names.get(entry.name)!,
        imageConfig,
        image,
        engineUrl,
        ...(options.inlineEnv ? { inlineEnv: options.inlineEnv } : {}),
      }),
    );
  }
  return {
    workers,
    ...(options.target === 'kubernetes' && options.namespace ? { namespace: options.namespace } : {}),
    engineUrl,
    ...(options.engineUrl === undefined && options.engineImage
      ? { engine: { image: options.engineImage, port, containerPort: ENGINE_CONTAINER_PORT } }
      : {}),
  };
}

async function storedConfig(store: ImageStore, worker: string, digest: string): Promise<SandboxImageConfig> {
  try {
    return await (await store.openDigest(digest)).config();
  } catch (err) {
    if (err instanceof ImageNotFoundError) throw new ImageNotInStoreError(worker, digest);
    throw err;
  }
}
