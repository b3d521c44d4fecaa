/**
 * @iii/workers: what a worker is, from what the user typed to what runs and what a prune may
 * delete. Used by the `iii` commands and by the engine, so nothing computes the same thing twice.
 *
 * The flow, one step per section below:
 * resolve (shorthand, reference, local path) → install (pull + unpack + defaults) → pin (config.yaml
 * and iii.lock edits) → locate the runnable image → plan its environment → what a prune may delete.
 */

// --- Errors -------------------------------------------------------------------------------------

/** Base of this package's errors: a stable `code` and a `hint` for the user. */
export { WorkersError } from './errors.js';

// --- Resolve: what the user typed → an image source ---------------------------------------------

export {
  /** What the user asked for, resolved to an image source and the worker name it suggests. */
  type ImageTarget,
  /** The image source and suggested worker name of an `image:` value (no registry lookup). */
  imageTarget,
  /** Resolves a `worker add` argument: registry shorthand, OCI reference or local image. */
  resolveTarget,
  /** Whether two `image:` values name the same image. */
  sameImage,
} from './worker-image.js';
export {
  /** The default address of the iii worker registry (`$III_API_URL` overrides it). */
  DEFAULT_III_API_URL,
  /** Whether `name[@version]` is a name in the iii worker registry rather than an OCI reference. */
  isRegistryShorthand,
  /** A worker of the iii worker registry: its name, version and image reference. */
  type RegistryWorker,
  /** Where and how to ask the iii worker registry. */
  type ResolveShorthandOptions,
  /** Resolves `name[@version]` through the iii worker registry to an image reference. */
  resolveShorthand,
  /** An error of the iii worker registry (unreachable, unknown name, unsupported type). */
  WorkerRegistryError,
} from './worker-registry.js';

// --- Install: pull + unpack + defaults ----------------------------------------------------------

export {
  /** Registry client, store, platform and signal for {@link openWorkerImage}. */
  type OpenWorkerImageOptions,
  /** Opens a worker's image, reading manifests the store already has from the store. */
  openWorkerImage,
} from './open-worker-image.js';
export {
  /** Where an image came from when the store served it instead of the registry. */
  type FromStore,
  /** `--pull never` of an image the store does not hold. */
  ImageNotStoredError,
  /** Options of {@link pullWorkerImage}. */
  type PullWorkerImageOptions,
  /** Opens, pulls, unpacks and closes a worker's image: `add`, `update` and `sync` in one call; offline, the stored image. */
  pullWorkerImage,
} from './pull-worker-image.js';
export {
  /** The `--pull` policies: `always`, `missing`, `never`. */
  PULL_POLICIES,
  /** When `add` asks the registry and when it uses the stored image. */
  type PullPolicy,
  /** An image the store already held. */
  type StoredImage,
  /** The stored image of a reference, read from the store alone. */
  storedImageOf,
} from './stored-image.js';
export {
  /** An image's defaults as config.yaml text: every value escaped, so it reaches the worker as written. */
  escapedDefaults,
  /** An image's `Env` as `config:` defaults: system variables dropped, keys sorted. */
  imageEnvDefaults,
  /** Whether a `config:` value is still the image's own default. */
  isImageDefault,
  /** Most environment entries copied from one image into `config:`. */
  MAX_IMAGE_ENV_ENTRIES,
  /** Inputs of {@link mergeWorkerConfig}. */
  type MergeConfigInput,
  /** `config:` after moving a worker to a new image: the user's edits win. */
  mergeWorkerConfig,
  /** Variables every image sets for the OS, never copied into `config:`. */
  SYSTEM_ENV_KEYS,
} from './worker-defaults.js';
export {
  /** An image pulled, unpacked, with the `config:` defaults and resources `add` copies. */
  type InstalledImage,
  /** What {@link installImage} needs: the store, where root filesystems go, a progress sink. */
  type InstallOptions,
  /** Where an install reports progress (the CLI renders it). */
  type InstallProgress,
  /** Pulls an opened image into the store and unpacks it, then reads its defaults. */
  installImage,
  /** The state of one blob of a pull. */
  type LayerState,
  /** One progress update about one blob of a pull. */
  type LayerUpdate,
  /** The `config:` defaults of an image already in the store. */
  storedImageDefaults,
} from './worker-image.js';

// --- Pin: config.yaml and iii.lock edits --------------------------------------------------------

export {
  /** config.yaml and iii.lock after an edit. */
  type ConfigEdit,
  /** Inputs of {@link moveWorkerImage}. */
  type MoveWorkerImageInput,
  /** Moves an existing entry to another image (or what its tag points to now) and pins it. */
  moveWorkerImage,
  /** What an image resolved to (digest, index, platform), without its reference. */
  type ResolvedPin,
  /** Inputs of {@link upsertWorkerImage}. */
  type UpsertWorkerImageInput,
  /** The add-or-replace decision of `worker add`, from config.yaml and iii.lock as they are. */
  upsertWorkerImage,
  /** The edited files and what happened. */
  type WorkerUpsert,
  /** `added`, `unchanged`, `pinned` (only iii.lock changed) or `replaced`. */
  type WorkerUpsertAction,
  /** What {@link upsertWorkerImage} did, and a digest the lock keeps although the tag moved. */
  type WorkerUpsertResult,
} from './worker-upsert.js';

// --- Locate: the runnable image of a pinned worker ----------------------------------------------

export {
  /** Whether an image (manifest, config, layers and unpacked rootfs) is fully present locally. */
  imagePresent,
  /** What `iii worker inspect` shows of a pinned image: presence, size, config, unpacked rootfs. */
  type StoredImageInfo,
  /** Describes a pinned image from the local store and rootfs cache only. */
  storedImageInfo,
} from './image-presence.js';
export {
  /** A pinned image is not in the local store (`iii worker sync` fetches it). */
  ImageNotCachedError,
  /** Options of {@link loadWorkerImage}: run on stacked layers where the sandbox can. */
  type LoadWorkerImageOptions,
  /** Finds a pinned image locally, unpacking it from the store if needed; never contacts a registry. */
  loadWorkerImage,
  /** A pinned image ready to run: its rootfs (or layers) and config. */
  type WorkerImage,
} from './runnable-image.js';

// --- Plan: the environment and argv a worker runs with ------------------------------------------

export {
  /** What {@link inspectWorkerConfig} returns. */
  type InspectedConfig,
  /** `config:` flattened key by key for display: values, how `${VAR}` values were written, what is unset. */
  inspectWorkerConfig,
  /** Inputs of {@link planWorkerProcess}. */
  type PlanWorkerProcessInput,
  /** How a worker runs (argv, environment, engine address and its rule): the engine's start and `inspect` both call it. */
  planWorkerProcess,
} from './worker-process-plan.js';

// --- Prune: what the store holds that no pinned worker needs ------------------------------------

/** Manifest and index digests pinned in iii.lock: the images a prune keeps. */
export { lockedDigests } from './locked-digests.js';

export {
  /** What a prune would delete: blobs and root filesystems, with their sizes. */
  type CacheUsage,
  /** Deletes what {@link unreferencedCache} found. */
  deleteCache,
  /** What the store and the rootfs cache hold that the kept images do not need. */
  unreferencedCache,
} from './store-usage.js';

// --- Measure: where the disk goes (`iii system df`) -----------------------------------------------

export {
  /** One image of the store: compressed, unpacked and shared bytes, and the workers that use it. */
  type ImageUsage,
  /** Manifests of the store with the blobs each needs. */
  storedManifests,
  /** Bytes of a tree as `du -sb --one-file-system` counts them. */
  TreeMeter,
} from './disk-usage.js';
export {
  /** Disk use of `$III_HOME` by part, image and worker directory. */
  type DiskUsage,
  /** Measures `$III_HOME` for `iii system df`. */
  diskUsage,
  /** What `iii worker prune` deletes: unneeded images, and sandboxes of removed workers. */
  type PrunePlan,
  /** Computes a {@link PrunePlan}. */
  prunePlan,
  /** A sandbox directory of a worker config.yaml no longer has. */
  type StaleSandbox,
  /** The sandbox directories a prune deletes. */
  staleSandboxes,
} from './prune-plan.js';
