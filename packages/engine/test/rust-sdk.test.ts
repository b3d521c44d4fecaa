import { officialSdkSuite } from './helpers/official-sdk-suite.js';
import { buildRustWorker } from './helpers/rust-worker.js';

// The official Rust SDK crate from crates.io (compiled with a target dir cached outside the clone)
// against our engine.
officialSdkSuite({
  language: 'Rust',
  prefix: 'rs',
  workerName: 'rust-worker',
  prepareTimeoutMs: 1_800_000,
  prepare: async () => ({
    command: [await buildRustWorker()],
    // Neither side needs telemetry here; the SDK would otherwise try to export it.
    env: { ...process.env, OTEL_ENABLED: 'false' },
    workerEnv: { III_WORKER_NAME: 'rust-worker' },
    callerEnv: { III_WORKER_NAME: 'rust-caller' },
  }),
});
