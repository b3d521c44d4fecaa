import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { RootfsWriteError } from './errors.js';
import {
  type BatchReply,
  type BatchRequest,
  chmodField,
  fieldCount,
  flagsField,
  gidField,
  lengthField,
  modeField,
  mtimeField,
  offsetField,
  uidField,
} from './small-files-protocol.js';

/** What a small file gets once its content is written. */
export interface SmallFileFinish {
  /** Owner to set, or undefined to keep the creator's. */
  readonly owner: { uid: number; gid: number } | undefined;
  /** Mode to set with fchmod, or undefined when the file was created with its final mode. */
  readonly chmod: number | undefined;
  readonly mtime: Date;
}

/** Files at most this large are written by the helper thread; larger ones by the caller. */
export const smallFileLimit = 64 * 1024;
// A batch and the number out are small: the parser fills batches faster than the thread writes
// them, so these buffers are all in use at once, and the process's peak memory has a budget. Two
// batches queued behind the one being written keep the thread busy.
const batchBytes = 128 * 1024;
const batchFiles = 128;
/** Batches handed to the helper thread and not yet back, per writer. */
const batchesInFlight = 3;

/**
 * The helper thread of an `Unpacker`, shared by the writers of its layers: started on first use
 * (again if it died), stopped by `close`. It is unreferenced while idle, so an unpacker that is not
 * closed never keeps the process alive.
 */
export class SmallFilesThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, (reply: BatchReply | Error) => void>();
  private nextId = 1;
  private closed = false;

  /** Hands a batch to the thread; resolves with its reply, or the error that stopped the thread. */
  send(paths: string[], fields: Float64Array, data: ArrayBuffer): Promise<BatchReply | Error> {
    if (this.closed) return Promise.resolve(new Error('the unpacker is closed'));
    const worker = this.start();
    const id = this.nextId++;
    if (this.waiting.size === 0) worker.ref();
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      const request: BatchRequest = { id, paths, fields, data };
      worker.postMessage(request, [data, fields.buffer as ArrayBuffer]);
    });
  }

  /** Stops the thread; batches still out fail. Nothing can be sent afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker();
    this.worker = worker;
    worker.unref();
    worker.on('message', (reply: BatchReply) => {
      const resolve = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
      resolve?.(reply);
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      const waiting = [...this.waiting.values()];
      this.waiting.clear();
      for (const resolve of waiting) resolve(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the file-writing thread exited with code ${code}`)));
    return worker;
  }
}

/** Runs `fn` with a thread of its own, stopped when `fn` is done (for one-off unpacks). */
export async function withSmallFilesThread<T>(fn: (thread: SmallFilesThread) => Promise<T>): Promise<T> {
  const thread = new SmallFilesThread();
  try {
    return await fn(thread);
  } finally {
    await thread.close();
  }
}

/**
 * Starts small-files-thread.js, which the build puts in this package's dist. It is found through the
 * package's name, not beside this module, because the `iii` executable bundles this module into files
 * of its own. Run from the TypeScript sources (tests, a TypeScript loader), it is compiled here first:
 * node cannot start a thread from a .ts file, and a loader given to the thread would take seconds to
 * start in every one.
 */
function startWorker(): Worker {
  // node:worker_threads is loaded here, when a layer is unpacked, not with the package: commands that
  // never unpack (a cached `iii worker add`, `iii` itself) would pay ~1.5 ms to load it.
  const { Worker } = createRequire(import.meta.url)(
    'node:worker_threads',
  ) as typeof import('node:worker_threads');
  // No flags of the host process (a TypeScript loader, say): the thread only needs node:fs. It makes
  // little garbage (a batch's paths and reply), so a small young generation is plenty and keeps the
  // process's peak memory down (~2 MiB less for an image of 20,000 files).
  const options = {
    name: 'iii-oci-small-files',
    execArgv: [],
    resourceLimits: { maxYoungGenerationSizeMb: 2 },
  };
  if (!import.meta.url.endsWith('.ts')) {
    const packageJson = createRequire(import.meta.url).resolve('@iii/oci/package.json');
    return new Worker(join(dirname(packageJson), 'dist/small-files-thread.js'), options);
  }
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const built = esbuild.buildSync({
    entryPoints: [fileURLToPath(new URL('./small-files-thread.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
  });
  return new Worker(built.outputFiles[0]?.text ?? '', { ...options, eval: true });
}

/**
 * Writes the small regular files of one layer in a helper thread, in batches, while the caller goes
 * on parsing the tar stream: for images of many small files the system calls that create, write,
 * stamp and close each file cost more than reading its tar entry, and this way they run beside it.
 * Contents are copied into a batch buffer (128 KiB, reused); at most three batches per writer are in
 * flight, and `add` waits for room before it takes more.
 *
 * The caller must not touch a path that may still be pending (`flush` first), and must `flush`
 * before it reads the files back. The first failure is kept and thrown by the next call, naming the
 * entry it happened to.
 */
export class SmallFiles {
  private readonly thread: SmallFilesThread;
  private paths: string[] = [];
  private names: string[] = [];
  private batch: { data: Uint8Array; fields: Float64Array } | undefined;
  private used = 0;
  private readonly spare: { data: Uint8Array; fields: Float64Array }[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: RootfsWriteError | undefined;
  private closed = false;

  constructor(thread: SmallFilesThread) {
    this.thread = thread;
  }

  /** Whether files are waiting to be written or being written. */
  get pending(): boolean {
    return this.paths.length > 0 || this.inFlight.size > 0;
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('the layer is no longer being unpacked');
  }

  /**
   * Queues the file `name` at `path`, created with `flags` and `mode`, holding `content` (at most
   * `smallFileLimit` bytes). Returns a promise only when the file must wait for room.
   */
  add(
    name: string,
    path: string,
    flags: number,
    mode: number,
    finish: SmallFileFinish,
    content: Buffer,
  ): Promise<void> | undefined {
    this.throwIfFailed();
    if (this.paths.length >= batchFiles || this.used + content.length > batchBytes) {
      const room = this.send();
      if (room) {
        return room.then(() => {
          // A batch may have failed, or the unpack stopped, while this one waited for room.
          this.throwIfFailed();
          this.queue(name, path, flags, mode, finish, content);
        });
      }
    }
    this.queue(name, path, flags, mode, finish, content);
    return undefined;
  }

  /** Puts the file of {@link add} in the current batch, which has room for it. */
  private queue(...[name, path, flags, mode, finish, content]: Parameters<SmallFiles['add']>): void {
    const { data, fields } = this.current();
    data.set(content, this.used);
    const field = this.paths.length * fieldCount;
    fields[field + flagsField] = flags;
    fields[field + modeField] = mode;
    fields[field + uidField] = finish.owner?.uid ?? -1;
    fields[field + gidField] = finish.owner?.gid ?? -1;
    fields[field + chmodField] = finish.chmod ?? -1;
    fields[field + mtimeField] = finish.mtime.getTime() / 1000;
    fields[field + offsetField] = this.used;
    fields[field + lengthField] = content.length;
    this.paths.push(path);
    this.names.push(name);
    this.used += content.length;
  }

  /** Writes what is queued and waits for every file; throws the first failure. */
  async flush(): Promise<void> {
    while (this.paths.length > 0 && this.inFlight.size >= batchesInFlight) await Promise.race(this.inFlight);
    this.hand();
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  /**
   * Waits for the batches in flight, whatever happens to them, after the unpack failed; what is
   * still queued is dropped and nothing more is taken.
   */
  async settle(): Promise<void> {
    this.closed = true;
    this.paths = [];
    this.names = [];
    this.used = 0;
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private current(): { data: Uint8Array; fields: Float64Array } {
    this.batch ??= this.spare.pop() ?? {
      data: new Uint8Array(batchBytes),
      fields: new Float64Array(batchFiles * fieldCount),
    };
    return this.batch;
  }

  /**
   * Hands the queued files to the helper thread once fewer than `batchesInFlight` are out: at
   * once when there is room (nothing returned), else once a batch is back.
   */
  private send(): Promise<void> | undefined {
    if (this.paths.length > 0 && this.inFlight.size >= batchesInFlight) {
      return Promise.race(this.inFlight).then(() => this.send());
    }
    this.hand();
    return undefined;
  }

  /** Hands the queued files to the helper thread. */
  private hand(): void {
    if (this.paths.length === 0 || this.closed) return;
    const paths = this.paths;
    const names = this.names;
    const { data, fields } = this.current();
    this.paths = [];
    this.names = [];
    this.batch = undefined;
    this.used = 0;
    const batch = this.thread
      .send(paths, fields, data.buffer as ArrayBuffer)
      .then((reply) => {
        if (reply instanceof Error) {
          this.failure ??= new RootfsWriteError(names[0] ?? '', reply);
          return;
        }
        this.spare.push({ data: new Uint8Array(reply.data), fields: reply.fields });
        if (reply.failure) {
          const { index, code, message } = reply.failure;
          const error = Object.assign(new Error(message), code ? { code } : {});
          this.failure ??= new RootfsWriteError(names[index] ?? '', error);
        }
      })
      .finally(() => this.inFlight.delete(batch));
    this.inFlight.add(batch);
  }
}
