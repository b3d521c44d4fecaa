import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '@iii/base';
import pLimit from 'p-limit';
import { parseDigest } from '../image/digest.js';
import type { Image } from '../image/types.js';
import { defaultPullConcurrency } from '../store/image-store.js';
import { abandonedUnpacks } from './abandoned.js';
import { applyLayer } from './apply-layer.js';
import { entryPathComponents } from './entry-path.js';
import { LayerFormatError, UnpackError, UnsafeEntryError } from './errors.js';
import type { UnpackLayer } from './layer-source.js';
import {
  type DirMetadata,
  LayerWriter,
  opaqueWhiteout,
  type StagedLayer,
  whiteoutPrefix,
} from './layer-writer.js';
import { defaultUnpackLimits } from './limits.js';
import type { OwnerRecord } from './owners.js';
import { removeTree } from './remove-tree.js';
import { lstatOrUndefined } from './safe-tree.js';
import { type SmallFilesThread, withSmallFilesThread } from './small-files.js';
import { probeUmask, type UnpackOptions } from './unpack.js';
import { UnpackBudget } from './unpack-budget.js';
import type { UnpackWarning } from './warning.js';

const run = promisify(execFile);

/**
 * How a snapshot records what its layer removes, as overlayfs reads lower layers: whiteouts are
 * character devices 0/0 in both; an opaque directory carries `trusted.overlay.opaque=y`
 * (`overlay`, mounted by root) or `user.overlay.opaque=y` (`overlay-userxattr`, for an overlay
 * mounted inside a user namespace with the `userxattr` option). One format per snapshot directory.
 */
export type SnapshotFormat = 'overlay' | 'overlay-userxattr';

/** A layer to unpack as a snapshot: the blob, and the digest of its uncompressed tar. */
export interface SnapshotLayer extends UnpackLayer {
  readonly diffId: string;
}

/** What a committed snapshot records of itself (`snapshot.json` next to its `fs` directory). */
export interface SnapshotRecord {
  readonly chainId: string;
  readonly diffId: string;
  /** The chain ID of the snapshot below it, or null for a base layer. */
  readonly parent: string | null;
  /** The layer blob it was unpacked from (any blob with this diff ID gives the same snapshot). */
  readonly layer: string;
  readonly format: SnapshotFormat;
  /** Directories marked opaque, relative to `fs` (also in their xattr; listed so no xattr is read). */
  readonly opaque: readonly string[];
  /** Rootless: the owners the layer's tar gives (applied inside the user namespace). */
  readonly owners?: readonly OwnerRecord[];
  /** When it was committed (RFC 3339). */
  readonly created: string;
}

/** One layer unpacked as a snapshot: its chain ID, diff ID, the directory overlayfs stacks, and whether it was reused. */
export interface Snapshot {
  readonly chainId: string;
  readonly diffId: string;
  /** The directory overlayfs uses as a lower layer: `<snapshots>/<chain ID hex>/fs`. */
  readonly path: string;
  /** True when it was already committed, false when this call unpacked it. */
  readonly reused: boolean;
  /** Its opaque directories, relative to `path` (for reading files through the stack). */
  readonly opaque: readonly string[];
}

/** Options of {@link unpackSnapshots}: those of {@link unpack}, and the snapshot format. */
export interface UnpackSnapshotsOptions extends UnpackOptions {
  /** Default: `overlay-userxattr` when rootless, else `overlay`. Must match the directory's format. */
  readonly format?: SnapshotFormat;
}

/** What {@link unpackSnapshots} made: one snapshot per layer, the format, what it wrote and warnings. */
export interface UnpackSnapshotsResult {
  /** One per layer, lowest first. */
  readonly snapshots: readonly Snapshot[];
  readonly format: SnapshotFormat;
  /** Tar entries applied and bytes of file content written by this call (0 when all were reused). */
  readonly entries: number;
  readonly bytes: number;
  readonly warnings: readonly UnpackWarning[];
}

/** The snapshot directory was made for the other format (rootful vs rootless). */
export class SnapshotFormatError extends UnpackError {
  constructor(dir: string, found: string, wanted: SnapshotFormat) {
    super(
      'SNAPSHOT_FORMAT_MISMATCH',
      `The snapshots in ${dir} are in the ${found} format, not ${wanted}`,
      'Use a separate state directory for rootful and rootless use, or remove the snapshot directory to unpack again.',
    );
  }
}

/**
 * Chain IDs of a stack of layers (OCI image spec): ChainID(L0) = DiffID(L0),
 * ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). The chain ID names a layer together with
 * everything below it, so a snapshot keyed by it can serve any image with the same bottom layers.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    parseDigest(diffId);
    const below = out[out.length - 1];
    out.push(
      below === undefined
        ? diffId
        : `sha256:${createHash('sha256').update(`${below} ${diffId}`).digest('hex')}`,
    );
  }
  return out;
}

/** Where the snapshot of chain ID `chainId` lives: `<snapshotsDir>/<hex>` (its tree is in `fs`). */
export function snapshotDir(snapshotsDir: string, chainId: string): string {
  return path.resolve(snapshotsDir, parseDigest(chainId).hex);
}

const formatFile = 'format';
const recordFile = 'snapshot.json';
const HEX = /^[a-f0-9]{64}$/;

/** Whether the snapshot of `chainId` is committed in `snapshotsDir` (its record is written last). */
export async function isSnapshotCommitted(snapshotsDir: string, chainId: string): Promise<boolean> {
  return fsp.lstat(path.join(snapshotDir(snapshotsDir, chainId), recordFile)).then(
    () => true,
    () => false,
  );
}

/** The committed snapshots of a directory, with their records (a snapshot without one is skipped). */
export async function listSnapshots(
  snapshotsDir: string,
): Promise<(SnapshotRecord & { readonly dir: string })[]> {
  const names = await fsp.readdir(snapshotsDir).catch(() => [] as string[]);
  const out: (SnapshotRecord & { dir: string })[] = [];
  for (const name of names) {
    if (!HEX.test(name)) continue;
    const dir = path.join(path.resolve(snapshotsDir), name);
    const record = await readRecord(dir);
    if (record) out.push({ ...record, dir });
  }
  return out;
}

/**
 * Removes a committed snapshot: it is first renamed out of its place, so it is never seen half
 * removed. `remove` deletes the renamed tree (default: as this user; rootless snapshots hold files
 * of subordinate ids, which the caller removes from inside its user namespace).
 */
export async function removeSnapshot(
  snapshotsDir: string,
  chainId: string,
  remove: (dir: string) => Promise<void> = removeTree,
): Promise<void> {
  const dir = snapshotDir(snapshotsDir, chainId);
  const doomed = path.join(path.dirname(dir), `.${path.basename(dir)}.remove-${process.pid}-${Date.now()}`);
  try {
    await fsp.rename(dir, doomed);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await remove(doomed);
}

/**
 * Unpacks an image as snapshots, one per layer, keyed by chain ID under `snapshotsDir`, for
 * overlayfs to stack as lower layers (top first: `snapshots.map(s => s.path).reverse()`). A layer
 * whose snapshot exists is not read at all; the others are read, decompressed and written at the
 * same time, each into a staging directory, checked against the config's diff IDs, and committed
 * in order, lowest first, by renaming the staging directory into place: a snapshot appears
 * complete or not at all, and is never written after that. Concurrent unpacks of the same chain
 * (other processes too) are safe: the first to commit wins, the other discards its copy.
 *
 * Whiteouts become overlayfs whiteouts (character devices 0/0, which the kernel lets unprivileged
 * users make), opaque directories get the opaque xattr of the directory's {@link SnapshotFormat},
 * hard links to lower layers are linked (or copied) from the snapshot below. A directory a layer
 * only implies takes the mode and mtime of the same directory below, as applying the tar onto the
 * lower layers would leave it.
 */
export function unpackSnapshots(
  image: Pick<Image, 'config' | 'layers'>,
  snapshotsDir: string,
  options: UnpackSnapshotsOptions = {},
): Promise<UnpackSnapshotsResult> {
  return withSmallFilesThread(async (thread) =>
    unpackSnapshotLayersWith(thread, await snapshotLayersOf(image), snapshotsDir, options),
  );
}

/** The layers of an image with their diff IDs from its config. */
export async function snapshotLayersOf(image: Pick<Image, 'config' | 'layers'>): Promise<SnapshotLayer[]> {
  const [config, layers] = await Promise.all([image.config(), image.layers()]);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== layers.length) {
    throw new LayerFormatError(
      `the manifest lists ${layers.length} layers but the config has ${diffIds.length} diff_ids`,
      undefined,
    );
  }
  return layers.map((layer, i) => ({
    descriptor: layer.descriptor,
    open: (signal?: AbortSignal) => layer.open(signal),
    diffId: diffIds[i] as string,
  }));
}

/** {@link unpackSnapshots} of given layers, with the small files written by `thread`. */
export async function unpackSnapshotLayersWith(
  thread: SmallFilesThread,
  layers: readonly SnapshotLayer[],
  snapshotsDir: string,
  options: UnpackSnapshotsOptions = {},
): Promise<UnpackSnapshotsResult> {
  const root = path.resolve(snapshotsDir);
  const rootless = options.rootless ?? process.getuid?.() !== 0;
  const format = options.format ?? (rootless ? 'overlay-userxattr' : 'overlay');
  const outer = options.signal ?? new AbortController().signal;
  outer.throwIfAborted();
  const chain = chainIds(layers.map((l) => l.diffId));
  const dirs = chain.map((id) => snapshotDir(root, id));
  const present = await Promise.all(dirs.map(async (dir) => (await readRecord(dir)) !== undefined));
  const warnings: UnpackWarning[] = [];
  const opaque: (readonly string[])[] = [];
  const result = (entries: number, bytes: number): UnpackSnapshotsResult => ({
    snapshots: layers.map((layer, i) => ({
      chainId: chain[i] as string,
      diffId: layer.diffId,
      path: path.join(dirs[i] as string, 'fs'),
      reused: present[i] as boolean,
      opaque: opaque[i] ?? [],
    })),
    format,
    entries,
    bytes,
    warnings,
  });
  await fsp.mkdir(root, { recursive: true });
  await checkFormat(root, format);
  if (present.every(Boolean)) {
    for (const dir of dirs) opaque.push((await readRecord(dir))?.opaque ?? []);
    return result(0, 0);
  }
  await sweepAbandoned(root);

  const controller = new AbortController();
  const signal = AbortSignal.any([outer, controller.signal]);
  const budget = new UnpackBudget({ ...defaultUnpackLimits, ...options.limits });
  const limit = pLimit(Math.max(1, options.concurrency ?? defaultPullConcurrency));
  const temps: string[] = [];
  const report = (index: number, bytes: number, done: boolean) => {
    const { digest, size } = (layers[index] as SnapshotLayer).descriptor;
    options.onProgress?.({
      index,
      count: layers.length,
      digest,
      bytes: done ? size : bytes,
      total: size,
      done,
    });
  };
  const recordOwners = rootless && options.applyOwners !== undefined;
  const staged = layers.map(async (layer, index) => {
    if (present[index]) {
      report(index, 0, true);
      return undefined;
    }
    return limit(async () => {
      signal.throwIfAborted();
      const dir = dirs[index] as string;
      const temp = await fsp.mkdtemp(path.join(root, `.${path.basename(dir)}.unpack-${process.pid}-`));
      temps.push(temp);
      const fsRoot = path.join(temp, 'fs');
      await fsp.mkdir(fsRoot, { mode: 0o755 });
      await fsp.chmod(temp, 0o755);
      const writer = new LayerWriter({
        root: fsRoot,
        digest: layer.descriptor.digest,
        rootless,
        budget,
        umask: await probeUmask(temp),
        ...(recordOwners ? { recordOwners: true } : {}),
        thread,
        onWarning: (warning) => {
          warnings.push(warning);
          options.onWarning?.(warning);
        },
      });
      try {
        await applyLayer(layer, writer, {
          signal,
          verify: options.verify ?? false,
          diffId: layer.diffId,
          onBytes: (bytes) => report(index, bytes, false),
        });
      } catch (error) {
        await writer.settle();
        throw error;
      }
      return { temp, staged: await writer.finish() };
    });
  });
  for (const promise of staged) promise.catch((error: unknown) => controller.abort(error));

  try {
    // Lower snapshots, top first, as the next layer up sees them.
    const lowers: Lower[] = [];
    for (const [index, promise] of staged.entries()) {
      const done = await promise;
      const dir = dirs[index] as string;
      if (done) {
        signal.throwIfAborted();
        const record = await finishSnapshot(done.staged, lowers, {
          chainId: chain[index] as string,
          diffId: (layers[index] as SnapshotLayer).diffId,
          parent: index === 0 ? null : (chain[index - 1] as string),
          layer: (layers[index] as SnapshotLayer).descriptor.digest,
          format,
          rootless,
        });
        if (recordOwners && record.owners && record.owners.length > 0) {
          await options.applyOwners?.(done.staged.root, record.owners);
        }
        await writeFileAtomic(path.join(done.temp, recordFile), JSON.stringify(record));
        if (!(await commit(done.temp, dir))) await removeTree(done.temp);
        report(index, 0, true);
      }
      const record = await readRecord(dir);
      if (!record)
        throw new UnpackError(
          'SNAPSHOT_MISSING',
          `snapshot ${chain[index]} vanished while unpacking`,
          'Run the command again.',
        );
      opaque.push(record.opaque);
      lowers.unshift({
        root: path.join(dir, 'fs'),
        opaque: new Set(record.opaque),
        owners: ownerMap(record.owners),
      });
    }
    return result(budget.entries, budget.bytes);
  } catch (error) {
    controller.abort(error);
    await Promise.allSettled(staged);
    for (const temp of temps) await removeTree(temp).catch(() => {});
    throw outer.aborted ? (outer.reason ?? error) : error;
  }
}

interface Lower {
  root: string;
  opaque: Set<string>;
  owners: Map<string, readonly [number, number]> | undefined;
}

interface Found {
  path: string;
  stat: fs.Stats;
  lower: Lower;
}

function ownerMap(
  owners: readonly OwnerRecord[] | undefined,
): Map<string, readonly [number, number]> | undefined {
  if (!owners) return undefined;
  return new Map(owners.map(([p, uid, gid]) => [p, [uid, gid] as const]));
}

function isWhiteout(stat: fs.Stats): boolean {
  return stat.isCharacterDevice() && stat.rdev === 0;
}

/** What the overlay of `lowers` (top first) shows at `rel`: the topmost entry not hidden by a whiteout or opaque directory. */
function lookupLower(lowers: readonly Lower[], rel: string): Found | undefined {
  const components = rel === '' ? [] : rel.split('/');
  for (const lower of lowers) {
    let at = lower.root;
    let prefix = '';
    let hiddenBelow = lower.opaque.has('');
    let missing = false;
    for (const [i, component] of components.entries()) {
      at = `${at}/${component}`;
      prefix = prefix === '' ? component : `${prefix}/${component}`;
      const stat = lstatOrUndefined(at);
      if (!stat) {
        missing = true;
        break;
      }
      if (isWhiteout(stat)) return undefined;
      if (i === components.length - 1) return { path: at, stat, lower };
      // A file or symlink hides everything below its path in the layers under it.
      if (!stat.isDirectory()) return undefined;
      if (lower.opaque.has(prefix)) hiddenBelow = true;
    }
    if (!missing) {
      const stat = lstatOrUndefined(at);
      if (stat) return { path: at, stat, lower };
    }
    if (hiddenBelow) return undefined;
  }
  return undefined;
}

interface FinishArgs {
  chainId: string;
  diffId: string;
  parent: string | null;
  layer: string;
  format: SnapshotFormat;
  rootless: boolean;
}

/**
 * Turns a staged layer into a snapshot over `lowers`: hard links to lower files, overlay
 * whiteouts, opaque xattrs, then directory metadata (last, as the rest changes mtimes).
 */
async function finishSnapshot(
  layer: StagedLayer,
  lowers: readonly Lower[],
  args: FinishArgs,
): Promise<SnapshotRecord> {
  const fsRoot = layer.root;
  const abs = (rel: string) => (rel === '' ? fsRoot : `${fsRoot}/${rel}`);
  const unsafe = (
    reason: 'symlink-traversal' | 'not-a-directory' | 'hardlink-outside',
    name: string,
    detail: string,
  ) => new UnsafeEntryError(reason, name, args.layer, detail);

  for (const link of layer.links.values()) {
    const at = abs(link.rel);
    if (lstatOrUndefined(at)) continue;
    const slash = link.rel.lastIndexOf('/');
    if (slash >= 0 && lstatOrUndefined(abs(link.rel.slice(0, slash)))?.isDirectory() !== true) continue;
    const found = lookupLower(lowers, entryPathComponents(link.linkname, args.layer).join('/'));
    if (!found || found.stat.isDirectory()) {
      throw unsafe(
        'hardlink-outside',
        link.name,
        `target '${link.linkname}' is not a file of the layers below`,
      );
    }
    try {
      fs.linkSync(found.path, at);
    } catch {
      fs.copyFileSync(found.path, at, fs.constants.COPYFILE_FICLONE);
      fs.chmodSync(at, found.stat.mode & 0o7777);
      fs.utimesSync(at, found.stat.mtime, found.stat.mtime);
      if (!args.rootless) fs.lchownSync(at, found.stat.uid, found.stat.gid);
    }
  }

  const whiteouts: string[] = [];
  const opaque: string[] = [];
  /** Directories made here for whiteouts, which the writer does not know of. */
  const madeHere = new Set<string>();
  for (const whiteout of layer.whiteouts) {
    const parent = whiteout.parent.join('/');
    if (whiteout.base === opaqueWhiteout) {
      const below = lookupLower(lowers, parent);
      const mine = lstatOrUndefined(abs(parent));
      if (mine && !mine.isDirectory()) continue;
      if (!mine && !below?.stat.isDirectory()) continue;
      makeParents(fsRoot, whiteout.parent, whiteout.name, unsafe, madeHere);
      opaque.push(parent);
      continue;
    }
    const rel =
      parent === ''
        ? whiteout.base.slice(whiteoutPrefix.length)
        : `${parent}/${whiteout.base.slice(whiteoutPrefix.length)}`;
    // The layer's own entry at that path wins over its whiteout; nothing below: nothing to hide.
    if (lstatOrUndefined(abs(rel))) continue;
    if (!lookupLower(lowers, rel)) continue;
    makeParents(fsRoot, whiteout.parent, whiteout.name, unsafe, madeHere);
    whiteouts.push(abs(rel));
  }
  if (whiteouts.length > 0) {
    await run('sh', ['-c', 'for p do mknod -m 000 -- "$p" c 0 0 || exit 1; done', 'sh', ...whiteouts]);
  }
  if (opaque.length > 0) {
    const name = args.format === 'overlay' ? 'trusted.overlay.opaque' : 'user.overlay.opaque';
    await run('setfattr', ['-h', '-n', name, '-v', 'y', '--', ...opaque.map(abs)]).catch((error: Error) => {
      throw new UnpackError(
        'SNAPSHOT_XATTR_FAILED',
        `Cannot mark an opaque directory of layer ${args.layer}: ${error.message.trim()}`,
        'Install the attr package (setfattr), on a file system with extended attributes.',
        { cause: error },
      );
    });
  }

  // Directory metadata, deepest first: the layer's own entries, and for directories it only
  // implies, the same directory below (as applying the tar onto the lower layers leaves it).
  const meta = new Map<string, DirMetadata>();
  const implied: string[] = [];
  for (const rel of new Set(['', ...layer.directories, ...madeHere])) {
    const own = layer.dirs.get(rel);
    if (own) meta.set(rel, own);
    else implied.push(rel);
  }
  const owners = layer.owners ? new Map(layer.owners) : undefined;
  for (const rel of implied) {
    const below = lookupLower(lowers, rel);
    if (!below) continue;
    if (below.stat.isSymbolicLink())
      throw unsafe('symlink-traversal', rel, `'${rel}' is a symbolic link below`);
    if (!below.stat.isDirectory()) throw unsafe('not-a-directory', rel, `'${rel}' is not a directory below`);
    const owner = args.rootless ? below.lower.owners?.get(rel) : ([below.stat.uid, below.stat.gid] as const);
    meta.set(rel, {
      mode: below.stat.mode & 0o1777,
      mtime: below.stat.mtime,
      uid: owner?.[0] ?? 0,
      gid: owner?.[1] ?? 0,
    });
    if (args.rootless) {
      if (owner && owners) owners.set(rel, owner);
    } else fs.lchownSync(abs(rel), below.stat.uid, below.stat.gid);
  }
  const depth = (rel: string) => (rel === '' ? 0 : rel.split('/').length);
  for (const [rel, m] of [...meta].sort((a, b) => depth(b[0]) - depth(a[0]))) {
    fs.chmodSync(abs(rel), m.mode);
    fs.utimesSync(abs(rel), m.mtime, m.mtime);
  }

  const ownerList: OwnerRecord[] = [];
  for (const [p, [uid, gid]] of owners ?? []) if (uid !== 0 || gid !== 0) ownerList.push([p, uid, gid]);
  return {
    chainId: args.chainId,
    diffId: args.diffId,
    parent: args.parent,
    layer: args.layer,
    format: args.format,
    opaque,
    ...(owners ? { owners: ownerList } : {}),
    created: new Date().toISOString(),
  };
}

/** Creates the missing parents of a whiteout (mode 0755; their metadata is set with the rest). */
function makeParents(
  root: string,
  parent: readonly string[],
  name: string,
  unsafe: (reason: 'symlink-traversal' | 'not-a-directory', name: string, detail: string) => Error,
  made: Set<string>,
): void {
  let at = root;
  let rel = '';
  for (const component of parent) {
    at = `${at}/${component}`;
    rel = rel === '' ? component : `${rel}/${component}`;
    const stat = lstatOrUndefined(at);
    if (!stat) {
      fs.mkdirSync(at, { mode: 0o755 });
      made.add(rel);
    } else if (stat.isSymbolicLink())
      throw unsafe('symlink-traversal', name, `'${component}' is a symbolic link`);
    else if (!stat.isDirectory()) throw unsafe('not-a-directory', name, `'${component}' is not a directory`);
  }
}

async function readRecord(dir: string): Promise<SnapshotRecord | undefined> {
  try {
    return JSON.parse(await fsp.readFile(path.join(dir, recordFile), 'utf8')) as SnapshotRecord;
  } catch {
    return undefined;
  }
}

async function checkFormat(root: string, format: SnapshotFormat): Promise<void> {
  const file = path.join(root, formatFile);
  const found = (await fsp.readFile(file, 'utf8').catch(() => undefined))?.trim();
  if (found === undefined) {
    await writeFileAtomic(file, `${format}\n`);
    return;
  }
  if (found !== format) throw new SnapshotFormatError(root, found, format);
}

/** The format recorded for a snapshot directory, if it has one. */
export async function snapshotFormat(snapshotsDir: string): Promise<SnapshotFormat | undefined> {
  const found = (
    await fsp.readFile(path.join(snapshotsDir, formatFile), 'utf8').catch(() => undefined)
  )?.trim();
  return found === 'overlay' || found === 'overlay-userxattr' ? found : undefined;
}

/** Renames a finished staging directory into place; false when another unpack committed it first. */
async function commit(temp: string, target: string): Promise<boolean> {
  try {
    await fsp.rename(temp, target);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw error;
  }
}

/** Removes staging and removal directories left behind by processes that no longer exist. */
async function sweepAbandoned(root: string): Promise<void> {
  for (const dir of await abandonedUnpacks(root)) await removeTree(dir).catch(() => {});
}
