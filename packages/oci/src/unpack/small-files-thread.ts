// The thread of `SmallFilesThread` (small-files.ts): creates, writes, stamps and closes each file of
// a batch with synchronous calls, then hands the batch's buffers back for reuse. Built as an entry
// of its own, so that it sits next to the bundle in dist.
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
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

type Failure = NonNullable<BatchReply['failure']>;

function failureOf(index: number, error: unknown): Failure {
  const { code, message } = error as NodeJS.ErrnoException;
  return { index, message: String(message), ...(code ? { code } : {}) };
}

/** Writes one file of the batch; answers what went wrong, if anything. */
function writeFile(request: BatchRequest, bytes: Uint8Array, index: number): Failure | undefined {
  const { paths, fields } = request;
  const at = index * fieldCount;
  let fd = -1;
  let failure: Failure | undefined;
  try {
    fd = fs.openSync(paths[index] as string, fields[at + flagsField] as number, fields[at + modeField]);
    let from = fields[at + offsetField] as number;
    const end = from + (fields[at + lengthField] as number);
    while (from < end) from += fs.writeSync(fd, bytes, from, end - from);
    const uid = fields[at + uidField] as number;
    if (uid >= 0) fs.fchownSync(fd, uid, fields[at + gidField] as number);
    const chmod = fields[at + chmodField] as number;
    if (chmod >= 0) fs.fchmodSync(fd, chmod);
    const mtime = fields[at + mtimeField] as number;
    fs.futimesSync(fd, mtime, mtime);
  } catch (error) {
    failure = failureOf(index, error);
  } finally {
    if (fd >= 0) {
      try {
        fs.closeSync(fd);
      } catch (error) {
        failure ??= failureOf(index, error);
      }
    }
  }
  return failure;
}

const port = parentPort;
if (!port) throw new Error('small-files-thread runs as a worker thread only');
port.on('message', (request: BatchRequest) => {
  const bytes = new Uint8Array(request.data);
  let failure: Failure | undefined;
  for (let index = 0; index < request.paths.length && failure === undefined; index++) {
    failure = writeFile(request, bytes, index);
  }
  const reply: BatchReply = {
    id: request.id,
    data: request.data,
    fields: request.fields,
    ...(failure ? { failure } : {}),
  };
  port.postMessage(reply, [request.data, request.fields.buffer as ArrayBuffer]);
});
