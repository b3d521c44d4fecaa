import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isDeepStrictEqual } from 'node:util';
import {
  acquireFileLock,
  isFileLockHeld,
  isProcessAlive,
  LockTimeoutError,
  withFileLock,
  writeFileAtomic,
} from '@iii/base';
import { BlobTooShortError, DigestMismatchError, ImageNotFoundError, SizeMismatchError } from '../errors.js';
import { parseDigest, sha256Digest } from '../image/digest.js';
import { type ResolveOptions, resolveImage } from '../image/manifest-image.js';
import { MediaTypes } from '../image/media-types.js';
import { parseImageConfig, parseManifest } from '../image/schemas.js';
import type { Descriptor, Image, ImageIndex, Layer, Platform } from '../image/types.js';
import { verifyingStream } from '../image/verified-stream.js';
import {
  layoutBlobPath,
  layoutBlobSource,
  REF_NAME_ANNOTATION,
  readLayoutIndex,
} from '../sources/oci-layout.js';
import { boundedParallel } from './bounded-parallel.js';

/** Annotation on a stored entry naming the index it was selected from (for lock files). */
export const INDEX_DIGEST_ANNOTATION = 'dev.iii.image.index.digest';

/** Progress of one blob during {@link ImageStore.pull}: bytes done of total, and its status. */
export interface PullProgress {
  /** The blob: a layer, or the config. */
  digest: string;
  kind: 'layer' | 'config';
  done: number;
  total: number;
  status: 'exists' | 'downloading' | 'verifying' | 'done';
}

/** Layers downloaded at once unless told otherwise: 6, as skopeo does. */
export const defaultPullConcurrency = 6;

/** Options of {@link ImageStore.pull}: abort signal, progress, per-layer commit signal, name, concurrency. */
export interface PullOptions {
  signal?: AbortSignal;
  onProgress?: (event: PullProgress) => void;
  /**
   * Called once per layer blob of the manifest as soon as it is in the store for good: found there,
   * or downloaded, verified and renamed into place. Unlike progress events (which are for display
   * and may change), this is what a consumer may rely on to read the blob before `pull` resolves.
   */
  onLayerCommitted?: (digest: string) => void;
  /** Names to record in index.json (`org.opencontainers.image.ref.name`); default the image's reference. */
  names?: string[];
  /** Blobs downloaded at once (default {@link defaultPullConcurrency}). */
  concurrency?: number;
}

/** An image the store's index names: its name (a reference), if any, and its manifest descriptor. */
export interface StoredEntry {
  name: string | undefined;
  descriptor: Descriptor;
}

/** A blob in the store: its digest and size on disk. */
export interface StoredBlob {
  digest: string;
  size: number;
}

const BLOB_HEX = /^[a-f0-9]{64}$/;
/** `ingest/<hex>.<pid>.<random>`: a small blob being written by `putBytes`, renamed when complete. */
const PUT_TEMP = /^[a-f0-9]{64}\.(\d+)\.[a-z0-9]+$/;

/**
 * What a pull left in `ingest/` when it stopped (interrupted, killed, or failed on the network): a
 * partial download, which a later pull of the same blob resumes, or a small blob whose writer died
 * before renaming it.
 */
export interface PartialDownload {
  digest: string;
  path: string;
  size: number;
}

const PROGRESS_STEP = 256 << 10;

function isCorruption(err: unknown): boolean {
  return (
    err instanceof DigestMismatchError || err instanceof SizeMismatchError || err instanceof BlobTooShortError
  );
}

/**
 * A content-addressed image store that is a plain OCI image layout (readable by skopeo and umoci):
 * `oci-layout`, `index.json` and `blobs/sha256/<hex>`. Blobs are downloaded to `ingest/<hex>`,
 * verified for size and digest, then renamed into place, so a half-written blob is never visible;
 * an interrupted download resumes from its partial file. index.json changes are atomic and
 * serialized across processes with a lock file.
 */
export class ImageStore {
  readonly root: string;
  private readonly ingestDir: string;

  constructor(root: string) {
    this.root = root;
    this.ingestDir = join(root, 'ingest');
  }

  private async init(): Promise<void> {
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
    await mkdir(this.ingestDir, { recursive: true });
    const marker = join(this.root, 'oci-layout');
    if (!(await this.exists(marker))) await writeFileAtomic(marker, '{"imageLayoutVersion":"1.0.0"}');
    if (!(await this.exists(join(this.root, 'index.json')))) {
      await withFileLock(join(this.root, 'index.json.lock'), async () => {
        if (!(await this.exists(join(this.root, 'index.json')))) {
          await writeFileAtomic(
            join(this.root, 'index.json'),
            JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] }),
          );
        }
      });
    }
  }

  private async exists(path: string): Promise<boolean> {
    return stat(path).then(
      () => true,
      () => false,
    );
  }

  /** Path of a blob in the store (whether or not it is there). */
  blobPath(digest: string): string {
    return layoutBlobPath(this.root, digest);
  }

  /** Whether the store holds the blob with the descriptor's size. */
  async hasBlob(descriptor: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean> {
    try {
      return (await stat(this.blobPath(descriptor.digest))).size === descriptor.size;
    } catch {
      return false;
    }
  }

  /** Stores a small blob held in memory (manifest, config), verified. */
  async putBytes(bytes: Buffer, expected?: Pick<Descriptor, 'digest' | 'size'>): Promise<Descriptor> {
    const digest = sha256Digest(bytes);
    if (expected && expected.digest !== digest) throw new DigestMismatchError(expected.digest, digest);
    if (expected && expected.size !== bytes.length) {
      throw new SizeMismatchError(expected.digest, expected.size, bytes.length);
    }
    const d = { mediaType: 'application/octet-stream', digest, size: bytes.length };
    if (!(await this.hasBlob(d))) {
      await this.init();
      const tmp = join(
        this.ingestDir,
        `${parseDigest(digest).hex}.${process.pid}.${Math.random().toString(36).slice(2)}`,
      );
      await writeFile(tmp, bytes);
      await rename(tmp, this.blobPath(digest));
    }
    return d;
  }

  /**
   * Downloads one layer into the store unless it is already there. Per-digest lock files make
   * concurrent pulls of the same blob (other processes too) wait for one download instead of racing.
   */
  async ingestLayer(
    layer: Layer,
    options: { signal?: AbortSignal; onProgress?: (e: PullProgress) => void } = {},
  ): Promise<void> {
    const d = layer.descriptor;
    const total = d.size;
    const report = (status: PullProgress['status'], done: number) =>
      options.onProgress?.({ digest: d.digest, kind: 'layer', done, total, status });
    if (await this.hasBlob(d)) {
      report('exists', total);
      return;
    }
    await this.init();
    const { hex } = parseDigest(d.digest);
    const partial = join(this.ingestDir, hex);
    await withFileLock(
      `${partial}.lock`,
      async () => {
        if (await this.hasBlob(d)) {
          report('exists', total);
          return;
        }
        let offset = await stat(partial).then(
          (s) => s.size,
          () => 0,
        );
        if (offset > total || !layer.openFrom) offset = 0;
        const hash = createHash('sha256');
        let source: Readable;
        if (offset > 0 && layer.openFrom) {
          // Resume: hash what is already on disk, then ask only for the rest.
          for await (const chunk of createReadStream(partial)) hash.update(chunk as Buffer);
          source = await layer.openFrom(offset, options.signal);
        } else {
          source = layer.openFrom
            ? await layer.openFrom(0, options.signal)
            : await layer.open(options.signal);
        }
        let done = offset;
        let lastReport = -PROGRESS_STEP;
        report('downloading', done);
        try {
          const onBytes = (seen: number) => {
            done = seen;
            if (done - lastReport >= PROGRESS_STEP) {
              lastReport = done;
              report('downloading', done);
            }
          };
          await pipeline(
            source,
            verifyingStream(d, { initialHash: hash, offset, onBytes }),
            createWriteStream(partial, { flags: offset > 0 ? 'a' : 'w' }),
            { signal: options.signal },
          );
        } catch (err) {
          // Corrupt bytes must not be resumed from; a dropped connection keeps its partial file.
          if (isCorruption(err)) await rm(partial, { force: true });
          throw err;
        }
        report('verifying', done);
        const handle = await open(partial, 'r+');
        try {
          await handle.datasync();
        } finally {
          await handle.close();
        }
        await rename(partial, this.blobPath(d.digest));
        report('done', total);
      },
      { signal: options.signal },
    );
  }

  /**
   * Stores an image from any source: layers (in parallel, bounded), config, manifest, then the
   * index.json entry. Returns the stored image, read from the store's own blobs. An image whose
   * blobs are all present downloads nothing.
   */
  async pull(image: Image, options: PullOptions = {}): Promise<Image> {
    const { signal, onProgress } = options;
    const committed = new Set<string>();
    const commit = (digest: string) => {
      if (committed.has(digest)) return;
      committed.add(digest);
      options.onLayerCommitted?.(digest);
    };
    await this.init();
    const raw = await image.rawManifest();
    const manifest = await image.manifest();
    const manifestDigest = sha256Digest(raw.bytes);
    if (manifestDigest !== image.digest)
      throw new DigestMismatchError(image.digest, manifestDigest, 'manifest');

    const missing: Descriptor[] = [];
    for (const d of manifest.layers) {
      if (await this.hasBlob(d)) {
        onProgress?.({ digest: d.digest, kind: 'layer', done: d.size, total: d.size, status: 'exists' });
        commit(d.digest);
      } else missing.push(d);
    }
    if (!(await this.hasBlob(manifest.config))) {
      onProgress?.({
        digest: manifest.config.digest,
        kind: 'config',
        done: 0,
        total: manifest.config.size,
        status: 'downloading',
      });
      await this.putBytes(await image.rawConfig(), manifest.config);
      onProgress?.({
        digest: manifest.config.digest,
        kind: 'config',
        done: manifest.config.size,
        total: manifest.config.size,
        status: 'done',
      });
    }
    if (missing.length > 0) {
      const layers = await image.layers();
      const wanted = layers.filter((l) => missing.some((m) => m.digest === l.descriptor.digest));
      // The same blob can appear twice in one manifest: download it once.
      const unique = wanted.filter(
        (l, i) => wanted.findIndex((x) => x.descriptor.digest === l.descriptor.digest) === i,
      );
      await boundedParallel(
        unique,
        options.concurrency ?? defaultPullConcurrency,
        async (layer, _i, inner) => {
          await this.ingestLayer(layer, { signal: inner, onProgress });
          commit(layer.descriptor.digest);
        },
        signal,
      );
    }
    if (image.index) await this.putBytes(image.index.bytes);
    await this.putBytes(raw.bytes);

    let platform: Platform | undefined = image.platform;
    if (!platform) {
      const cfg = await this.readConfig(manifest.config);
      platform = {
        os: cfg.os,
        architecture: cfg.architecture,
        ...(cfg.variant ? { variant: cfg.variant } : {}),
      };
    }
    const names = options.names ?? [image.reference];
    const descriptor: Descriptor = {
      mediaType: raw.mediaType,
      digest: manifestDigest,
      size: raw.bytes.length,
      platform,
      ...(image.index ? { annotations: { [INDEX_DIGEST_ANNOTATION]: image.index.digest } } : {}),
    };
    await this.updateIndex((manifests) => {
      const kept = manifests.filter((m) => {
        const name = m.annotations?.[REF_NAME_ANNOTATION];
        if (name ? names.includes(name) : m.digest === manifestDigest) return false;
        return true;
      });
      const entries = (names.length ? names : [undefined]).map((name) => ({
        ...descriptor,
        annotations: { ...descriptor.annotations, ...(name ? { [REF_NAME_ANNOTATION]: name } : {}) },
      }));
      return [...kept, ...entries];
    });
    return this.openDigest(manifestDigest, image.reference, image.index);
  }

  private async readConfig(d: Descriptor): Promise<{ os: string; architecture: string; variant?: string }> {
    return parseImageConfig(await readFile(this.blobPath(d.digest)));
  }

  /**
   * Applies `change` to index.json's entries under the store lock, writing atomically, and not at all
   * when the entries come out as they were (a pull of an image the store has, tagged as it was).
   */
  async updateIndex(change: (manifests: Descriptor[]) => Descriptor[]): Promise<void> {
    await this.init();
    await withFileLock(join(this.root, 'index.json.lock'), async () => {
      const index = await readLayoutIndex(this.root);
      const manifests = change(index.manifests);
      if (sameEntries(manifests, index.manifests)) return;
      const next: ImageIndex = { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests };
      await writeFileAtomic(join(this.root, 'index.json'), JSON.stringify(next));
    });
  }

  /** The store's index.json entries. */
  async list(): Promise<StoredEntry[]> {
    if (!(await this.exists(join(this.root, 'index.json')))) return [];
    const index = await readLayoutIndex(this.root);
    return index.manifests.map((descriptor) => ({
      name: descriptor.annotations?.[REF_NAME_ANNOTATION],
      descriptor,
    }));
  }

  /** The stored image named `name` (as recorded by `pull`), or undefined. */
  async find(name: string, options: ResolveOptions = {}): Promise<Image | undefined> {
    const entry = (await this.list()).find((e) => e.name === name);
    if (!entry) return undefined;
    return this.openDigest(entry.descriptor.digest, name, undefined, options);
  }

  /**
   * The stored image with manifest digest `digest` (an index digest resolves to the platform's
   * manifest); throws ImageNotFoundError when absent. Reads only the store: no network.
   */
  async openDigest(
    digest: string,
    reference?: string,
    index?: Image['index'],
    options: ResolveOptions = {},
  ): Promise<Image> {
    const entry = (await this.list()).find((e) => e.descriptor.digest === digest);
    const size = entry?.descriptor.size ?? (await stat(this.blobPath(digest)).catch(() => undefined))?.size;
    if (size === undefined) throw new ImageNotFoundError(digest, 'not in the local image store');
    const blobs = layoutBlobSource(this.root);
    const raw = await blobs.readManifest({ mediaType: entry?.descriptor.mediaType ?? '', digest, size });
    const image = await resolveImage({ reference: reference ?? digest, raw, digest, blobs, options });
    const platform = image.platform ?? entry?.descriptor.platform;
    let from = index ?? image.index;
    const indexDigest = entry?.descriptor.annotations?.[INDEX_DIGEST_ANNOTATION];
    if (!from && indexDigest) {
      // The index this manifest was picked from, kept so lock files can record it.
      const bytes = await readFile(this.blobPath(indexDigest)).catch(() => undefined);
      if (bytes && sha256Digest(bytes) === indexDigest) {
        const parsed = parseManifest(bytes);
        if (parsed.kind === 'index') from = { digest: indexDigest, mediaType: parsed.index.mediaType, bytes };
      }
    }
    return { ...image, ...(platform ? { platform } : {}), ...(from ? { index: from } : {}) };
  }

  /** Every blob in the store, with its size (containerd's content `Walk`). */
  async blobs(): Promise<StoredBlob[]> {
    const dir = join(this.root, 'blobs', 'sha256');
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: StoredBlob[] = [];
    for (const name of names) {
      // Only finished blobs are named by their digest.
      if (!BLOB_HEX.test(name)) continue;
      const st = await lstat(join(dir, name)).catch(() => undefined);
      if (st?.isFile()) out.push({ digest: `sha256:${name}`, size: st.size });
    }
    return out;
  }

  /**
   * What stopped pulls left in `ingest/` ({@link PartialDownload}). A download under way (its lock
   * held) is not listed, nor a small blob whose writer still lives.
   */
  async partialDownloads(): Promise<PartialDownload[]> {
    const out: PartialDownload[] = [];
    for (const name of await readdir(this.ingestDir).catch(() => [] as string[])) {
      const put = PUT_TEMP.exec(name);
      const path = join(this.ingestDir, name);
      if (
        put ? isProcessAlive(Number(put[1])) : !BLOB_HEX.test(name) || (await isFileLockHeld(`${path}.lock`))
      )
        continue;
      const st = await lstat(path).catch(() => undefined);
      if (st?.isFile()) out.push({ digest: `sha256:${name.slice(0, 64)}`, path, size: st.size });
    }
    return out;
  }

  /**
   * Deletes what {@link partialDownloads} listed. Each partial download goes under its lock, so one
   * that a pull took up again meanwhile stays (and so does its lock).
   */
  async deletePartialDownloads(partials: Iterable<PartialDownload>): Promise<void> {
    for (const p of partials) {
      if (dirname(p.path) !== this.ingestDir) throw new Error(`${p.path} is not in ${this.ingestDir}`);
      if (!BLOB_HEX.test(basename(p.path))) {
        await rm(p.path, { force: true });
        continue;
      }
      let release: (() => Promise<void>) | undefined;
      try {
        release = await acquireFileLock(`${p.path}.lock`, { timeoutMs: 0 });
      } catch (err) {
        if (err instanceof LockTimeoutError) continue;
        throw err;
      }
      try {
        await rm(p.path, { force: true });
      } finally {
        await release();
      }
    }
  }

  /**
   * The blobs reachable from `roots` (manifest and index digests): each root itself and, for an
   * image manifest, its config and layers. An index keeps only itself: the store holds the manifest
   * of one platform, which is a root of its own. A root that is missing or not a manifest reaches
   * only itself.
   */
  async reachable(roots: Iterable<string>): Promise<Set<string>> {
    const keep = new Set<string>();
    for (const digest of roots) {
      keep.add(digest);
      let bytes: Buffer;
      try {
        bytes = await readFile(this.blobPath(digest));
      } catch {
        continue;
      }
      try {
        const parsed = parseManifest(bytes);
        if (parsed.kind === 'manifest') {
          keep.add(parsed.manifest.config.digest);
          for (const layer of parsed.manifest.layers) keep.add(layer.digest);
        }
      } catch {
        // Not a manifest this store understands: the blob is kept, nothing more.
      }
    }
    return keep;
  }

  /** The blobs of the store not reachable from `roots`: what {@link ImageStore.deleteUnreachable} deletes. */
  async unreachable(roots: Iterable<string>): Promise<StoredBlob[]> {
    const keep = await this.reachable(roots);
    return (await this.blobs()).filter((b) => !keep.has(b.digest));
  }

  /**
   * Deletes `digests` from the store: their index.json entries first (so no name points at a
   * missing manifest), then the blobs. Deleting a blob that is not there is no error.
   */
  async deleteBlobs(digests: Iterable<string>): Promise<void> {
    const gone = new Set(digests);
    for (const d of gone) parseDigest(d);
    if (gone.size === 0) return;
    await this.updateIndex((manifests) => manifests.filter((m) => !gone.has(m.digest)));
    for (const d of gone) await rm(this.blobPath(d), { force: true });
  }

  /**
   * Garbage collection: deletes every blob not reachable from `roots` (containerd's content store
   * GC) and returns what it deleted.
   */
  async deleteUnreachable(roots: Iterable<string>): Promise<StoredBlob[]> {
    const gone = await this.unreachable(roots);
    await this.deleteBlobs(gone.map((b) => b.digest));
    return gone;
  }

  /** Removes index.json entries by name (blobs stay until a prune). */
  async untag(name: string): Promise<boolean> {
    let removed = false;
    await this.updateIndex((manifests) =>
      manifests.filter((m) => {
        const hit = m.annotations?.[REF_NAME_ANNOTATION] === name;
        removed ||= hit;
        return !hit;
      }),
    );
    return removed;
  }
}

/**
 * Whether two lists of index.json entries say the same. Not by comparing their JSON text: entries
 * read back come in the schema's key order, and a new entry in the order it was built, so the same
 * entry would read as changed and index.json be rewritten on every pull of a stored image.
 */
function sameEntries(a: Descriptor[], b: Descriptor[]): boolean {
  // Through JSON first, as written: a key set to undefined is no key.
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}
