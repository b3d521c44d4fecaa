// biome-ignore-all lint/suspicious/noTemplateCurlyInString: image values with literal ${VAR} placeholders.

import { ConfigDocument, emptyLockFile, type LockFile, pinWorker, WorkerExistsError } from '@iii/config';
import { describe, expect, it } from 'vitest';
import { moveWorkerImage, type UpsertWorkerImageInput, upsertWorkerImage } from './worker-upsert.js';

const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;
const pinTo = (digest: string) => ({ digest, platform: 'linux/amd64' });
const exact = (a: string, b: string) => a === b;

/** `upsertWorkerImage` with the usual inputs of these tests: worker `w`, no defaults, no force. */
function upsert(
  input: Partial<UpsertWorkerImageInput> & Pick<UpsertWorkerImageInput, 'doc' | 'lock' | 'image'>,
) {
  return upsertWorkerImage({
    name: 'w',
    pin: pinTo(NEW),
    defaults: {},
    force: false,
    sameImage: exact,
    ...input,
  });
}

function state(yaml: string, pins: Record<string, { image: string; digest: string }> = {}) {
  let lock: LockFile = emptyLockFile();
  for (const [name, p] of Object.entries(pins))
    lock = pinWorker(lock, name, { ...p, platform: 'linux/amd64' });
  return { doc: ConfigDocument.parse(yaml, 'config.yaml'), lock };
}

describe('upsertWorkerImage', () => {
  it('adds a new entry with the image defaults and resources and pins its digest', () => {
    const { doc, lock } = state('workers: []\n');
    const out = upsert({
      doc,
      lock,
      name: 'resize',
      image: 'reg/resize:1',
      defaults: { MODE: 'fast' },
      resources: { cpus: 1 },
    });
    expect(out.result).toEqual({ action: 'added' });
    expect(out.doc.worker('resize')).toEqual({
      name: 'resize',
      image: 'reg/resize:1',
      config: { MODE: 'fast' },
      resources: { cpus: 1 },
    });
    expect(out.lock.workers.resize).toEqual({ image: 'reg/resize:1', digest: NEW, platform: 'linux/amd64' });
  });

  it('writes the image defaults escaped, so they reach the worker exactly as the image wrote them', () => {
    const { doc, lock } = state('workers: []\n');
    const out = upsert({
      doc,
      lock,
      image: 'reg/w:1',
      defaults: { DOLLAR: '${HOME}x${SECRET}', PRICE: '5$' },
    });
    expect(out.doc.worker('w')?.config).toEqual({ DOLLAR: '$${HOME}x$${SECRET}', PRICE: '5$$' });
    expect(out.doc.text).toContain('DOLLAR: $${HOME}x$${SECRET}');
  });

  it('adds an entry without config: when the image has no defaults', () => {
    const { doc, lock } = state('workers: []\n');
    const out = upsert({ doc, lock, image: 'reg/w:1' });
    expect(out.doc.worker('w')).toEqual({ name: 'w', image: 'reg/w:1' });
  });

  it('leaves an entry of the same image and its pin unchanged', () => {
    const yaml = 'workers:\n  - name: w # mine\n    image: reg/w:1\n    config:\n      MODE: slow\n';
    const { doc, lock } = state(yaml, { w: { image: 'reg/w:1', digest: NEW } });
    const out = upsert({ doc, lock, image: 'reg/w:1', defaults: { MODE: 'fast' }, force: true });
    expect(out.result).toEqual({ action: 'unchanged' });
    expect(out.doc.text).toBe(yaml);
    expect(out.lock).toBe(lock);
  });

  it('keeps the pin when the tag moved and reports the locked digest', () => {
    const { doc, lock } = state('workers:\n  - name: w\n    image: reg/w:1\n', {
      w: { image: 'reg/w:1', digest: OLD },
    });
    const out = upsert({ doc, lock, image: 'reg/w:1' });
    expect(out.result).toEqual({ action: 'unchanged', lockedDigest: OLD });
    expect(out.lock.workers.w?.digest).toBe(OLD);
  });

  it('fills a missing pin with the reference as config.yaml writes it', () => {
    const { doc, lock } = state('workers:\n  - name: w\n    image: ./w.tar\n');
    const sameFile = (a: string, b: string) => a.replace(/^\.\//, '') === b.replace(/^\.\//, '');
    const out = upsert({ doc, lock, image: 'w.tar', sameImage: sameFile });
    expect(out.result).toEqual({ action: 'pinned' });
    expect(out.lock.workers.w).toEqual({ image: './w.tar', digest: NEW, platform: 'linux/amd64' });
  });

  it('refuses another image under the same name without force', () => {
    const yaml = 'workers:\n  - name: w\n    image: reg/w:1\n';
    const { doc, lock } = state(yaml);
    const attempt = () => upsert({ doc, lock, image: 'reg/other:2' });
    expect(attempt).toThrow(WorkerExistsError);
    expect(attempt).toThrow('a worker named "w" already exists with another image (reg/w:1)');
    try {
      attempt();
    } catch (err) {
      expect(err).toMatchObject({ code: 'WORKER_EXISTS', hint: expect.stringContaining('--force') });
    }
  });

  it('replaces the image with force, keeping edited values and the entry resources', () => {
    const yaml = [
      'workers:',
      '  - name: w',
      '    image: reg/w:1',
      '    config:',
      '      MODE: slow # edited',
      '      LEVEL: "1"',
      '    resources:',
      '      memory: 128Mi',
      '',
    ].join('\n');
    const { doc, lock } = state(yaml, { w: { image: 'reg/w:1', digest: OLD } });
    const out = upsert({
      doc,
      lock,
      image: 'reg/w:2',
      defaults: { MODE: 'fast', LEVEL: '2', NEW_KEY: 'x' },
      resources: { cpus: 2, memory: '1Gi' },
      force: true,
      previousDefaults: { MODE: 'fast', LEVEL: '1' },
    });
    expect(out.result).toEqual({ action: 'replaced' });
    expect(out.doc.worker('w')).toEqual({
      name: 'w',
      image: 'reg/w:2',
      config: { MODE: 'slow', LEVEL: '2', NEW_KEY: 'x' },
      resources: { memory: '128Mi' },
    });
    expect(out.doc.text).toContain('# edited');
    expect(out.lock.workers.w).toEqual({
      image: 'reg/w:2',
      digest: NEW,
      platform: 'linux/amd64',
      previous: { digest: OLD, platform: 'linux/amd64' },
    });
  });

  it('takes the new image resources when a replaced entry has none', () => {
    const { doc, lock } = state('workers:\n  - name: w\n    image: reg/w:1\n');
    const out = upsert({ doc, lock, image: 'reg/w:2', resources: { cpus: 0.5 }, force: true });
    expect(out.doc.worker('w')).toEqual({ name: 'w', image: 'reg/w:2', resources: { cpus: 0.5 } });
  });
});

describe('moveWorkerImage', () => {
  it('pins the new digest and follows untouched defaults without changing the reference', () => {
    const { doc, lock } = state(
      'workers:\n  - name: w\n    image: reg/w:1\n    config:\n      MODE: fast\n',
      {
        w: { image: 'reg/w:1', digest: OLD },
      },
    );
    const entry = doc.worker('w')!;
    const out = moveWorkerImage({
      doc,
      lock,
      entry,
      image: entry.image,
      pin: pinTo(NEW),
      previousDefaults: { MODE: 'fast' },
      nextDefaults: { MODE: 'faster' },
    });
    expect(out.doc.worker('w')).toEqual({ name: 'w', image: 'reg/w:1', config: { MODE: 'faster' } });
    // The digest it replaces is remembered for `iii worker rollback`.
    expect(out.lock.workers.w).toEqual({
      image: 'reg/w:1',
      digest: NEW,
      platform: 'linux/amd64',
      previous: { digest: OLD, platform: 'linux/amd64' },
    });
  });

  it('leaves the document as it is when nothing in the entry changes', () => {
    const yaml = 'workers:\n  - name: w # keep\n    image: reg/w:1\n    config:\n      MODE: mine\n';
    const { doc, lock } = state(yaml);
    const entry = doc.worker('w')!;
    const out = moveWorkerImage({
      doc,
      lock,
      entry,
      image: entry.image,
      pin: pinTo(NEW),
      nextDefaults: {},
    });
    expect(out.doc).toBe(doc);
  });
});
