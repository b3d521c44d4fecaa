import { basename, isAbsolute, resolve } from 'node:path';
import { readWorkerManifest, type WorkerResources } from '@iii/config';
import {
  formatImageSourceRef,
  formatPlatform,
  type Image,
  type ImageConfig,
  type ImageSourceRef,
  type ImageStore,
  type PullProgress as OciPullProgress,
  parseImageSourceRef,
  parseReference,
  pullAndUnpack,
  pullAndUnpackSnapshots,
  type Snapshot,
} from '@iii/oci';
import { findInLayers, type ImageLayer, imageOwnersForUnpack } from '@iii/sandbox';
import { imageEnvDefaults } from './worker-defaults.js';
import { isRegistryShorthand, type ResolveShorthandOptions, resolveShorthand } from './worker-registry.js';

/** What the user asked for, resolved to an image source and the worker name it suggests. */
export interface ImageTarget {
  /** The argument as typed. */
  input: string;
  /** What goes into `image:` of config.yaml (local paths made absolute so the file works from anywhere). */
  image: string;
  source: ImageSourceRef;
  /** The name a worker gets without --name. */
  suggestedName: string;
}

/** Resolves a `worker add` argument: registry shorthand, OCI reference or a local image. */
export async function resolveTarget(
  input: string,
  opts: ResolveShorthandOptions & { cwd: string },
): Promise<ImageTarget> {
  if (isRegistryShorthand(input)) {
    const entry = await resolveShorthand(input, opts);
    const source = parseImageSourceRef(entry.image);
    return { input, image: entry.image, source, suggestedName: entry.name };
  }
  return imageTarget(input, opts.cwd);
}

/** The target of an `image:` value already in config.yaml (no registry lookup). */
export function imageTarget(image: string, cwd: string): ImageTarget {
  const parsed = parseImageSourceRef(image);
  const source = absolutize(parsed, cwd);
  const written = parsed.transport === 'registry' ? image : formatImageSourceRef(source);
  return { input: image, image: written, source, suggestedName: suggestedName(source) };
}

/** Whether two `image:` values name the same image (registry references compared normalized). */
export function sameImage(a: string, b: string, cwd: string): boolean {
  try {
    return (
      formatImageSourceRef(imageTarget(a, cwd).source) === formatImageSourceRef(imageTarget(b, cwd).source)
    );
  } catch {
    return a === b;
  }
}

function absolutize(ref: ImageSourceRef, cwd: string): ImageSourceRef {
  if (ref.transport === 'registry') return ref;
  const path = ref.path.startsWith('~/') || isAbsolute(ref.path) ? ref.path : resolve(cwd, ref.path);
  return { ...ref, path };
}

function suggestedName(ref: ImageSourceRef): string {
  const lastSegment = (repo: string) => repo.split('/').pop() ?? repo;
  switch (ref.transport) {
    case 'registry':
      return lastSegment(ref.reference.repository);
    case 'docker-archive':
      if (ref.reference) {
        try {
          return lastSegment(parseReference(ref.reference).repository);
        } catch {
          // Not a reference: fall back to the file name.
        }
      }
      return fileStem(ref.path);
    case 'oci-layout':
    case 'oci-archive':
      if (ref.tag?.includes('/')) {
        try {
          return lastSegment(parseReference(ref.tag).repository);
        } catch {
          // A tag that is not a reference: use the path.
        }
      }
      return fileStem(ref.path);
    case 'path':
      return fileStem(ref.path);
  }
}

function fileStem(path: string): string {
  return basename(path.replace(/\/+$/, '')).replace(/\.(tar|tar\.gz|tgz|tar\.zst|oci)$/, '');
}

/** The state of one blob of a pull, as a progress display shows it. */
export type LayerState = 'waiting' | 'downloading' | 'exists' | 'verifying' | 'complete' | 'failed';

/** One update about one blob of a pull. */
export interface LayerUpdate {
  /** The blob digest (`sha256:...`). */
  id: string;
  state: LayerState;
  /** Bytes received so far. */
  current?: number;
  /** Blob size. */
  total?: number;
}

/** Where an install reports its progress (the CLI renders it as bars or lines). */
export interface InstallProgress {
  /** A heading line such as `Pulling ghcr.io/acme/w:1`. */
  message(text: string): void;
  update(u: LayerUpdate): void;
  /** The pull is over: the display draws its last state. */
  finish(): void;
}

/** An image pulled into the store and unpacked, with what `add` copies into config.yaml. */
export interface InstalledImage {
  digest: string;
  index: string | undefined;
  platform: string;
  /** The merged rootfs, or with snapshots the top layer's directory. */
  rootfs: string;
  /** With `snapshotsDir`: the image's layers, top first. */
  layers?: ImageLayer[];
  config: ImageConfig;
  /** Image `Env` minus system variables, sorted; the image's own values (config.yaml gets them escaped). */
  defaults: Record<string, string>;
  /** From `/iii/worker.yaml`, if the image has one with resources. */
  resources: WorkerResources | undefined;
  /** What the user should hear about the image (a skipped `/iii/worker.yaml`). */
  warnings: string[];
}

/** What {@link installImage} needs: the store, where root filesystems go, a progress sink. */
export interface InstallOptions {
  store: ImageStore;
  rootfsDir: string;
  /** Unpack into this snapshot directory, one snapshot per layer, instead of a merged rootfs. */
  snapshotsDir?: string;
  progress?: InstallProgress;
  /** Names recorded in the store's index.json for this image. */
  names?: string[];
  signal?: AbortSignal;
}

/**
 * Pulls an opened image into the store (only missing blobs) and unpacks it once, both at the same
 * time, then reads its defaults.
 */
export async function installImage(image: Image, opts: InstallOptions): Promise<InstalledImage> {
  const onProgress = (e: OciPullProgress) => {
    if (e.kind !== 'layer') return;
    opts.progress?.update({
      id: e.digest,
      state: e.status === 'done' ? 'complete' : e.status,
      current: e.done,
      total: e.total,
    });
  };
  // Rootless with subordinate ids, the files get the image's owners as the sandbox maps them.
  const ownerWarnings: string[] = [];
  const applyOwners = await imageOwnersForUnpack((m) => ownerWarnings.push(m));
  const unpackOptions = {
    pull: { onProgress, ...(opts.names ? { names: opts.names } : {}) },
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(applyOwners ? { applyOwners } : {}),
  };
  let stored: Image;
  let rootfs: string;
  let layers: ImageLayer[] | undefined;
  if (opts.snapshotsDir) {
    const result = await pullAndUnpackSnapshots(image, opts.store, opts.snapshotsDir, unpackOptions);
    stored = result.image;
    layers = layersOf(result.snapshots.snapshots);
    rootfs = (layers[0] as ImageLayer).path;
  } else {
    const result = await pullAndUnpack(image, opts.store, opts.rootfsDir, unpackOptions);
    stored = result.image;
    rootfs = result.rootfs.rootfs;
  }
  opts.progress?.finish();
  const config = await stored.config();
  const platform = stored.platform ?? {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
  };
  const label = opts.names?.[0] ?? image.reference;
  const defaults = imageEnvDefaults(config.config?.Env, label);
  const { manifest, warnings } = await readWorkerManifest(await manifestRoot(layers ?? rootfs), label);
  return {
    digest: stored.digest,
    index: image.index?.digest ?? stored.index?.digest,
    platform: formatPlatform(platform),
    rootfs,
    ...(layers ? { layers } : {}),
    config,
    defaults,
    resources: manifest?.resources,
    warnings: [...ownerWarnings, ...warnings],
  };
}

/** The `config:` defaults of an image already in the store, or undefined when it is not there. */
export async function storedImageDefaults(
  store: ImageStore,
  digest: string | undefined,
): Promise<Record<string, string> | undefined> {
  if (!digest) return undefined;
  try {
    const image = await store.openDigest(digest);
    return imageEnvDefaults((await image.config()).config?.Env, digest);
  } catch {
    return undefined;
  }
}

/** Snapshots (lowest first) as the layers of a worker's root (top first). */
export function layersOf(snapshots: readonly Snapshot[]): ImageLayer[] {
  return snapshots.map((s) => ({ path: s.path, opaque: s.opaque })).reverse();
}

/**
 * The directory `readWorkerManifest` reads `/iii/worker.yaml` from: the rootfs, or of a stack of
 * layers the one whose `/iii` the worker sees (a layer without it: the top one, which has none).
 */
async function manifestRoot(root: string | readonly ImageLayer[]): Promise<string> {
  if (typeof root === 'string') return root;
  const file = await findInLayers(root, 'iii/worker.yaml');
  if (file) return file.layer.path;
  const dir = await findInLayers(root, 'iii');
  return (dir?.layer ?? (root[0] as ImageLayer)).path;
}
