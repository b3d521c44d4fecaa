import { fileURLToPath } from 'node:url';
import { pythonSdk } from '@iii/tools/fixtures';
import { officialSdkSuite } from './helpers/official-sdk-suite.js';

const script = fileURLToPath(new URL('./fixtures/python-worker.py', import.meta.url));

// The official Python SDK from PyPI (in a venv, cached outside the clone) against our engine.
officialSdkSuite({
  language: 'Python',
  prefix: 'py',
  workerName: 'python-worker',
  prepareTimeoutMs: 600_000,
  prepare: async () => {
    const sdk = await pythonSdk();
    // Neither side needs telemetry here; the SDK would otherwise try to export it.
    return {
      command: [sdk.python, script],
      env: { ...process.env, OTEL_ENABLED: 'false', PYTHONUNBUFFERED: '1' },
    };
  },
});
