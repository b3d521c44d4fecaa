// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config.yaml text with literal ${VAR} placeholders.
import {
  ConfigDocument,
  emptyLockFile,
  escapeInterpolation,
  type LockFile,
  type WorkerEntry,
} from '@iii/config';
import { workerAddress } from '@iii/sandbox';
import { upsertWorkerImage } from '@iii/workers';
import { describe, expect, it } from 'vitest';
import { planWorker } from './worker-plan.js';

const digest = `sha256:${'a'.repeat(64)}`;
const lock: LockFile = {
  version: 1,
  workers: { resize: { image: 'ghcr.io/x/resize:1', digest, platform: 'linux/amd64' } },
};
const entry = (over: Partial<WorkerEntry> = {}): WorkerEntry => ({
  name: 'resize',
  image: 'ghcr.io/x/resize:1',
  ...over,
});

describe('planWorker', () => {
  it('runs the locked digest with config interpolated and flattened', () => {
    const plan = planWorker(
      entry({
        config: {
          GREETING: '${GREETING:hi}',
          API: '${API_KEY}',
          db: { host: 'x', port: 5432 },
          lit: '$${HOME}',
        },
        resources: { cpus: 0.5, memory: '256Mi' },
      }),
      lock,
      { API_KEY: 'k' },
    );
    expect(plan).toMatchObject({
      digest,
      platform: 'linux/amd64',
      config: { GREETING: 'hi', API: 'k', DB_HOST: 'x', DB_PORT: '5432', LIT: '${HOME}' },
      resources: { cpus: 0.5, memory: 256 * 1024 * 1024 },
      restart: 'on-failure',
      network: 'host',
    });
    expect(plan.written).toEqual({ GREETING: '${GREETING:hi}', API: '${API_KEY}' });
    expect(plan.substituted).toEqual(['k']);
  });

  it('never hands a worker the management token in $III_TOKEN', () => {
    expect(() =>
      planWorker(entry({ config: { STOLEN: '${III_TOKEN}' } }), lock, { III_TOKEN: 'owner-token' }),
    ).toThrow(/III_TOKEN/);
  });

  it('prefers the environment over the default', () => {
    expect(planWorker(entry({ config: { G: '${G:hi}' } }), lock, { G: 'env' }).config.G).toBe('env');
  });

  it('names worker, key and variable when a variable is unset without default', () => {
    expect(() => planWorker(entry({ config: { token: '${MISSING}' } }), lock, {})).toThrow(
      /resize.*TOKEN.*MISSING/,
    );
  });

  it('refuses a worker that iii.lock does not pin', () => {
    expect(() => planWorker(entry({ name: 'other' }), lock, {})).toThrow(
      expect.objectContaining({ code: 'WORKER_NOT_LOCKED' }),
    );
  });

  it('refuses a worker whose image changed since it was locked', () => {
    expect(() => planWorker(entry({ image: 'ghcr.io/x/resize:2' }), lock, {})).toThrow(
      expect.objectContaining({ code: 'LOCK_MISMATCH' }),
    );
  });

  it('keeps the restart policy and network of the entry', () => {
    expect(planWorker(entry({ restart: 'never', network: 'none' }), lock, {})).toMatchObject({
      restart: 'never',
      network: 'none',
    });
  });
});

describe('image defaults holding $ through add, plan and the engine-address rule', () => {
  const imageUrl = 'ws://${ENGINE_HOST}:49134/$path';
  const imageConfig = { config: { Env: [`III_URL=${imageUrl}`, 'TEMPLATE=${name}.png'] } };

  it('gives the worker the image value literally, and still sees III_URL as the image default', () => {
    const added = upsertWorkerImage({
      doc: ConfigDocument.parse('workers: []\n', 'config.yaml'),
      lock: emptyLockFile(),
      name: 'resize',
      image: 'ghcr.io/x/resize:1',
      pin: { digest, platform: 'linux/amd64' },
      defaults: { III_URL: imageUrl, TEMPLATE: '${name}.png' },
      force: false,
      sameImage: (a, b) => a === b,
    });
    const written = added.doc.worker('resize')!;
    expect(written.config).toEqual({ III_URL: escapeInterpolation(imageUrl), TEMPLATE: '$${name}.png' });
    const plan = planWorker(written, added.lock, { ENGINE_HOST: 'attacker', name: 'x' });
    expect(plan.config).toEqual({ III_URL: imageUrl, TEMPLATE: '${name}.png' });
    const address = workerAddress(
      imageConfig,
      { name: 'resize', config: plan.config },
      'ws://127.0.0.1:5000',
    );
    expect(address.rule).toBe('engine');
    expect(address.url).toBe('ws://127.0.0.1:5000');
  });
});
