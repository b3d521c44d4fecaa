import { Worker } from 'node:worker_threads';
import { RootfsWriteError } from './errors.js';

/** What a small file gets once its content is written. */
export interface SmallFileFinish {
  /** Owner to set, or undefined to keep the creator's. */
  readonly owner: { uid: number; gid: number } | undefined;
  /** Mode to set with fchmod, or undefined when the file was created with its final mode. */
  readonly chmod: number | undefined;
  readonly mtime: Date;
}

/**
 * Numbers of a batch's files, `fieldCount` per file at `index * fieldCount` (no object per file, and
 * the array goes back and forth without being copied): open flags, mode, uid and gid (-1: keep),
 * mode for fchmod (-1: none), mtime in seconds, and where the content lies in the data buffer.
 */
const fieldCount = 8;
const flagsField = 0;
const modeField = 1;
const uidField = 2;
const gidField = 3;
const chmodField = 4;
const mtimeField = 5;
const offsetField = 6;
const lengthField = 7;

interface BatchReply {
  id: number;
  data: ArrayBuffer;
  fields: Float64Array;
  /** The first file that could not be written; the files after it in the batch were not tried. */
  failure?: { index: number; code?: string; message: string };
}

/** Files at most this large are written by the helper thread; larger ones by the caller. */
export const smallFileLimit = 64 * 1024;
const batchBytes = 256 * 1024;
const batchFiles = 128;
/** Batches handed to the helper thread and not yet back, per writer. */
const batchesInFlight = 4;

// The helper thread: creates, writes, stamps and closes each file of a batch with synchronous
// calls, then hands the batch's buffer back for reuse. Plain CommonJS, evaluated from this string,
// so that it runs the same from the sources and from the bundle.
const helperSource = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
parentPort.on('message', ({ id, paths, fields, data }) => {
  const bytes = new Uint8Array(data);
  let failure;
  for (let index = 0; index < paths.length && failure === undefined; index++) {
    const at = index * ${fieldCount};
    let fd = -1;
    try {
      fd = fs.openSync(paths[index], fields[at + ${flagsField}], fields[at + ${modeField}]);
      let from = fields[at + ${offsetField}];
      const end = from + fields[at + ${lengthField}];
      while (from < end) from += fs.writeSync(fd, bytes, from, end - from);
      const uid = fields[at + ${uidField}];
      if (uid >= 0) fs.fchownSync(fd, uid, fields[at + ${gidField}]);
      const chmod = fields[at + ${chmodField}];
      if (chmod >= 0) fs.fchmodSync(fd, chmod);
      const mtime = fields[at + ${mtimeField}];
      fs.futimesSync(fd, mtime, mtime);
    } catch (error) {
      failure = { index, code: error.code, message: error.message };
    } finally {
      if (fd >= 0) {
        try { fs.closeSync(fd); } catch (error) { failure ??= { index, code: error.code, message: error.message }; }
      }
    }
  }
  parentPort.postMessage({ id, data, fields, failure }, [data, fields.buffer]);
});
`;

/**
 * The one helper thread of the process, started on first use and shared by every writer. It is
 * unreferenced while idle, so it never keeps the process alive.
 */
class HelperThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, (reply: BatchReply | Error) => void>();
  private nextId = 1;

  constructor(onGone: () => void) {
    // No flags of the host process (a TypeScript loader, say): the thread only needs node:fs.
    this.worker = new Worker(helperSource, { eval: true, name: 'iii-oci-small-files', execArgv: [] });
    this.worker.unref();
    this.worker.on('message', (reply: BatchReply) => {
      const resolve = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) this.worker.unref();
      resolve?.(reply);
    });
    const fail = (error: Error) => {
      onGone();
      const waiting = [...this.waiting.values()];
      this.waiting.clear();
      for (const resolve of waiting) resolve(error);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the file-writing thread exited with code ${code}`)));
  }

  send(paths: string[], fields: Float64Array, data: ArrayBuffer): Promise<BatchReply | Error> {
    const id = this.nextId++;
    if (this.waiting.size === 0) this.worker.ref();
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ id, paths, fields, data }, [data, fields.buffer as ArrayBuffer]);
    });
  }
}

let helper: HelperThread | undefined;

function helperThread(): HelperThread {
  if (!helper) {
    const started = new HelperThread(() => {
      if (helper === started) helper = undefined;
    });
    helper = started;
  }
  return helper;
}

/**
 * Writes the small regular files of one layer in a helper thread, in batches, while the caller goes
 * on parsing the tar stream: for images of many small files the system calls that create, write,
 * stamp and close each file cost more than reading its tar entry, and this way they run beside it.
 * Contents are copied into a batch buffer (256 KiB, reused); at most four batches per writer are in
 * flight, and `add` waits for room before it takes more.
 *
 * The caller must not touch a path that may still be pending (`flush` first), and must `flush`
 * before it reads the files back. The first failure is kept and thrown by the next call, naming the
 * entry it happened to.
 */
export class SmallFiles {
  private paths: string[] = [];
  private names: string[] = [];
  private batch: { data: Uint8Array; fields: Float64Array } | undefined;
  private used = 0;
  private readonly spare: { data: Uint8Array; fields: Float64Array }[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: RootfsWriteError | undefined;
  private closed = false;

  /** Whether files are waiting to be written or being written. */
  get pending(): boolean {
    return this.paths.length > 0 || this.inFlight.size > 0;
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('the layer is no longer being unpacked');
  }

  /**
   * Queues the file `name` at `path`, created with `flags` and `mode`, holding the bytes of
   * `chunks` (at most `smallFileLimit` in all). Resolves once the file is queued.
   */
  async add(
    name: string,
    path: string,
    flags: number,
    mode: number,
    finish: SmallFileFinish,
    chunks: readonly Buffer[],
    length: number,
  ): Promise<void> {
    this.throwIfFailed();
    if (this.paths.length >= batchFiles || this.used + length > batchBytes) {
      await this.send();
      // A batch may have failed, or the unpack stopped, while this one waited for room.
      this.throwIfFailed();
    }
    const { data, fields } = this.current();
    let at = this.used;
    for (const chunk of chunks) {
      data.set(chunk, at);
      at += chunk.length;
    }
    const field = this.paths.length * fieldCount;
    fields[field + flagsField] = flags;
    fields[field + modeField] = mode;
    fields[field + uidField] = finish.owner?.uid ?? -1;
    fields[field + gidField] = finish.owner?.gid ?? -1;
    fields[field + chmodField] = finish.chmod ?? -1;
    fields[field + mtimeField] = finish.mtime.getTime() / 1000;
    fields[field + offsetField] = this.used;
    fields[field + lengthField] = length;
    this.paths.push(path);
    this.names.push(name);
    this.used = at;
  }

  /** Writes what is queued and waits for every file; throws the first failure. */
  async flush(): Promise<void> {
    await this.send();
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

  /** Hands the queued files to the helper thread, once fewer than `batchesInFlight` are out. */
  private async send(): Promise<void> {
    while (this.paths.length > 0 && this.inFlight.size >= batchesInFlight) await Promise.race(this.inFlight);
    if (this.paths.length === 0 || this.closed) return;
    const paths = this.paths;
    const names = this.names;
    const { data, fields } = this.current();
    this.paths = [];
    this.names = [];
    this.batch = undefined;
    this.used = 0;
    const batch = helperThread()
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
