// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config.yaml text with literal ${VAR} placeholders.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigDocument, type LockFile } from '@iii/config';
import { buildSpec, type SandboxImageConfig } from '@iii/sandbox';
import { inspectWorkerConfig, planWorkerProcess } from '@iii/workers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planWorker } from './worker-plan.js';
import { workerStartDefinition } from './worker-start.js';

const digest = `sha256:${'a'.repeat(64)}`;
const ENGINE = 'ws://0.0.0.0:51234';
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n';

const imageConfig: SandboxImageConfig = {
  config: {
    User: 'app',
    Entrypoint: ['/worker'],
    Cmd: ['--url', 'ws://localhost:49134'],
    Env: ['PATH=/opt/bin:/usr/bin', 'III_URL=ws://localhost:49134', 'LEVEL=info', 'FROM_IMAGE=yes'],
  },
};

const CONFIG_YAML = `workers:
  - name: resize
    image: reg.example/resize:1
    config:
      III_URL: ws://localhost:49134
      LEVEL: debug
      db:
        host: \${DB_HOST}
        pool: 5
      tags: [a, b]
`;

const lock: LockFile = {
  version: 1,
  workers: { resize: { image: 'reg.example/resize:1', digest, platform: 'linux/amd64' } },
};

describe("a worker's environment: the engine's start and `iii worker inspect` plan it with one function", () => {
  let rootfs: string;
  beforeEach(async () => {
    rootfs = await mkdtemp(join(tmpdir(), 'iii-start-plan-'));
    await mkdir(join(rootfs, 'etc'));
    await writeFile(join(rootfs, 'etc', 'passwd'), PASSWD);
  });
  afterEach(() => rm(rootfs, { recursive: true, force: true }));

  it('gives the runtime spec of a start the argv and environment inspect shows for the same entry', async () => {
    const entry = ConfigDocument.parse(CONFIG_YAML, 'config.yaml').worker('resize')!;
    const env = { DB_HOST: 'db.internal' };

    // The engine: plan the entry, then what the sandbox is asked to start, then the spec it builds.
    const plan = planWorker(entry, lock, env);
    const def = await workerStartDefinition({
      plan,
      image: { rootfs, config: imageConfig },
      engineUrl: ENGINE,
      stopTimeoutMs: 1000,
    });
    const spec = buildSpec({
      imageConfig: def.imageConfig,
      worker: def,
      engineUrl: def.engineUrl,
      ...(def.process ? { process: def.process } : {}),
      rootfs: '/state/resize/rootfs',
      hostsFile: '/state/resize/hosts',
      resolvFile: '/state/resize/resolv.conf',
      passwd: PASSWD,
    });

    // `iii worker inspect`: the entry's config key by key, then the plan.
    const shown = inspectWorkerConfig(entry, env);
    expect(shown.unresolved).toEqual([]);
    const inspected = await planWorkerProcess({
      imageConfig,
      imageRootfs: rootfs,
      name: entry.name,
      config: shown.values,
      engineUrl: ENGINE,
    });

    // The sandbox is handed the plan itself, and runs exactly it.
    expect(def.process).toEqual(inspected);
    expect(spec.process.env).toEqual(inspected.env);
    expect(spec.process.args).toEqual(inspected.argv);
    // The precedence the plan applies: image env < config: < the engine-address rule.
    expect(inspected.env).toEqual(
      expect.arrayContaining([
        'PATH=/opt/bin:/usr/bin',
        'HOME=/home/app',
        'FROM_IMAGE=yes',
        'LEVEL=debug',
        'DB_HOST=db.internal',
        'DB_POOL=5',
        'TAGS=["a","b"]',
        'III_URL=ws://127.0.0.1:51234',
        'III_ENGINE_URL=ws://127.0.0.1:51234',
      ]),
    );
    expect(inspected.argv).toEqual(['/worker', '--url', 'ws://127.0.0.1:51234']);
  });
});
