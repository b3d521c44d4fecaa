// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${VAR} placeholders.
// `iii export kubernetes` / `iii export compose` through the built `iii`: a config.yaml with busybox
// and Node workers from a real registry, a local OCI layout, ${VAR} values, resources, restart: never
// and network: none. Every object is validated against the Kubernetes OpenAPI schema
// (kubernetes-models) and the Compose file against the Compose specification's JSON schema.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixture, pushFixture } from '@iii/tools/fixtures';
import {
  requireTools,
  skopeoInspect,
  startRegistry,
  type TestRegistry,
  validateCompose,
  validateKubernetesObject,
} from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parseDocument } from 'yaml';
import { makeSandbox, iii as run, type Sandbox } from './worker-harness.js';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: walked by the assertions below.
  spec: any;
}

let registry: TestRegistry;
let sb: Sandbox;
let engineImage: string;
const SECRET = 'hunter2-not-in-any-manifest';

const iii = (args: string[], env: NodeJS.ProcessEnv = {}) => run(sb, args, { DB_PASSWORD: SECRET, ...env });
/** Where the exports push the images: the test registry, over plain HTTP. */
const pushTo = () => ['--push-to', `${registry.host}/pushed`, '--insecure'];
/** `iii export <target>` with the engine image to run and {@link pushTo}, then `extra`. */
const exportArgs = (target: 'kubernetes' | 'compose', ...extra: string[]) => [
  'export',
  target,
  '--engine-image',
  engineImage,
  ...pushTo(),
  ...extra,
];

function objects(yamlText: string): K8sObject[] {
  const docs = parseAllDocuments(yamlText);
  for (const d of docs) expect(d.errors).toEqual([]);
  return docs.map((d) => d.toJS() as K8sObject);
}

function find(list: K8sObject[], kind: string, name: string): K8sObject {
  const o = list.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o)
    throw new Error(`no ${kind} ${name} in ${list.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

// biome-ignore lint/suspicious/noExplicitAny: container of a parsed object.
function container(o: K8sObject): any {
  return o.spec.template.spec.containers[0];
}

// biome-ignore lint/suspicious/noExplicitAny: env entries of a parsed object.
function envOf(o: K8sObject): Record<string, any> {
  // biome-ignore lint/suspicious/noExplicitAny: env entries of a parsed object.
  return Object.fromEntries(container(o).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
}

beforeAll(async () => {
  requireTools(['skopeo', 'buildah', 'docker-registry']);
  registry = await startRegistry({ flavor: 'plain' });
  await pushFixture('busybox', registry, 'iii/busybox:1');
  await pushFixture('node-worker', registry, 'iii/node-worker:1');
  await pushFixture('node-url-worker', registry, 'iii/url-worker:1');
  const busybox = await buildFixture('busybox');
  engineImage = `${registry.host}/iii/engine@sha256:${'e'.repeat(64)}`;
  sb = await makeSandbox();
  await cp(busybox.layout, join(sb.cwd, 'layout'), { recursive: true });
  const adds: [string, string][] = [
    [`${registry.host}/iii/busybox:1`, 'busybox'],
    [`${registry.host}/iii/busybox:1`, 'nightly.Batch'],
    [`${registry.host}/iii/node-worker:1`, 'node-worker'],
    [`${registry.host}/iii/url-worker:1`, 'url-worker'],
    [`oci-layout:layout:${busybox.tag}`, 'local-one'],
  ];
  for (const [image, name] of adds) {
    const r = await run(sb, ['worker', 'add', image, '--name', name]);
    expect(r.code, r.stderr).toBe(0);
  }
  const doc = parseDocument(await readFile(sb.configPath, 'utf8'));
  doc.setIn(['workers', 0, 'config', 'DATABASE_URL'], 'postgres://app:${DB_PASSWORD}@db/x');
  doc.setIn(['workers', 0, 'config', 'LOG_LEVEL'], '${LOG_LEVEL:debug}');
  doc.setIn(['workers', 0, 'config', 'PRICE'], '5$$ and $(HOME)');
  doc.setIn(['workers', 0, 'resources'], doc.createNode({ cpus: 0.25, memory: '128Mi' }));
  doc.setIn(['workers', 0, 'network'], 'none');
  doc.setIn(['workers', 1, 'restart'], 'never');
  doc.setIn(['workers', 2, 'config', 'GREETING'], '${GREETING:hi $$5}');
  doc.setIn(['workers', 2, 'resources'], doc.createNode({ cpus: 1, memory: '1536Mi' }));
  doc.setIn(['workers', 3, 'config', 'URL_FROM'], 'argv');
  doc.setIn(['workers', 3, 'init'], false);
  await writeFile(sb.configPath, doc.toString());
});

afterAll(async () => {
  await registry?.stop();
  await sb?.remove();
});

describe('iii export kubernetes', () => {
  it('refuses images a cluster cannot pull, naming them, and writes nothing', async () => {
    const r = await iii(['export', 'kubernetes', '--engine-image', engineImage, '-o', 'out.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('local-one (oci-layout:');
    expect(r.stderr).toContain('iii worker push');
    expect(r.stderr).toContain('--push-to');
    expect(await readdir(sb.cwd)).not.toContain('out.yaml');
  });

  it('needs an engine: an image to run or an address to dial', async () => {
    const r = await iii(['export', 'kubernetes', ...pushTo()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--engine-image');
  });

  describe('with --push-to', () => {
    let out: { code: number; stdout: string; stderr: string };
    let list: K8sObject[];
    beforeAll(async () => {
      out = await iii(exportArgs('kubernetes'));
      expect(out.code, out.stderr).toBe(0);
      list = objects(out.stdout);
    });

    it('emits only valid Kubernetes objects', () => {
      expect(list.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
        'Deployment/busybox',
        'Deployment/iii-engine',
        'Deployment/local-one',
        'Deployment/node-worker',
        'Deployment/url-worker',
        'Job/nightly-batch',
        'NetworkPolicy/busybox-engine-only',
        'Service/iii-engine',
      ]);
      for (const o of list) validateKubernetesObject(o);
    });

    it('pins every worker image by digest, as iii.lock does, and pushes the local one', async () => {
      const lock = parseDocument(await readFile(sb.lockPath, 'utf8')).toJS() as {
        workers: Record<string, { digest: string }>;
      };
      expect(container(find(list, 'Deployment', 'busybox')).image).toBe(
        `${registry.host}/iii/busybox@${lock.workers.busybox?.digest}`,
      );
      expect(container(find(list, 'Job', 'nightly-batch')).image).toBe(
        `${registry.host}/iii/busybox@${lock.workers['nightly.Batch']?.digest}`,
      );
      const local = container(find(list, 'Deployment', 'local-one')).image as string;
      expect(local).toBe(`${registry.host}/pushed/local-one@${lock.workers['local-one']?.digest}`);
      // The registry serves the pushed manifest by that digest.
      await skopeoInspect(`docker://${local}`, { mode: 'raw', registry });
      expect(out.stderr).toContain(`Pushed local-one: ${local}`);
      expect(container(find(list, 'Deployment', 'iii-engine')).image).toBe(engineImage);
    });

    it("gives each worker iii's environment, with the engine Service as its address", () => {
      const env = envOf(find(list, 'Deployment', 'busybox'));
      expect(env).toMatchObject({
        GREETING: 'hello',
        III_URL: 'ws://iii-engine:49134',
        III_ENGINE_URL: 'ws://iii-engine:49134',
        III_WORKER_NAME: 'busybox',
        OTEL_SERVICE_NAME: 'busybox',
        // Literal `$` kept from Kubernetes' $(VAR) expansion.
        PRICE: '5$ and $$(HOME)',
        DATABASE_URL: { secretKeyRef: { name: 'busybox-env', key: 'DATABASE_URL' } },
        LOG_LEVEL: { secretKeyRef: { name: 'busybox-env', key: 'LOG_LEVEL' } },
      });
      expect(out.stdout).not.toContain(SECRET);
      const node = envOf(find(list, 'Deployment', 'node-worker'));
      expect(node.GREETING).toEqual({ secretKeyRef: { name: 'node-worker-env', key: 'GREETING' } });
      expect(node.III_WORKER_NAME).toBe('node-worker');
      // The image's ENTRYPOINT and CMD run untouched...
      expect(container(find(list, 'Deployment', 'node-worker')).command).toBeUndefined();
      // ...unless iii rewrites a --url in them, as it does on one machine.
      expect(container(find(list, 'Deployment', 'url-worker'))).toMatchObject({
        command: ['node', '/app/url-worker.js', '--url', 'ws://iii-engine:49134'],
        args: [],
      });
    });

    it('maps resources, restart: never, init and network: none', () => {
      expect(container(find(list, 'Deployment', 'busybox')).resources).toEqual({
        limits: { cpu: '250m', memory: '128Mi' },
        requests: { cpu: '250m', memory: '128Mi' },
      });
      expect(container(find(list, 'Deployment', 'node-worker')).resources.limits).toEqual({
        cpu: '1000m',
        memory: '1536Mi',
      });
      const job = find(list, 'Job', 'nightly-batch');
      // init: an init as PID 1 on one machine, the pod's pause process as PID 1 here (unless init: false).
      expect(find(list, 'Deployment', 'node-worker').spec.template.spec.shareProcessNamespace).toBe(true);
      expect(job.spec.template.spec.shareProcessNamespace).toBe(true);
      expect(find(list, 'Deployment', 'url-worker').spec.template.spec.shareProcessNamespace).toBeUndefined();
      expect(job.spec.backoffLimit).toBe(0);
      expect(job.spec.template.spec.restartPolicy).toBe('Never');
      const policy = find(list, 'NetworkPolicy', 'busybox-engine-only');
      expect(policy.spec.podSelector.matchLabels['app.kubernetes.io/name']).toBe('busybox');
      expect(policy.spec.ingress).toEqual([]);
      expect(policy.spec.egress[0]).toEqual({
        to: [
          {
            podSelector: {
              matchLabels: { 'app.kubernetes.io/name': 'iii-engine', 'app.kubernetes.io/part-of': 'iii' },
            },
          },
        ],
        ports: [{ protocol: 'TCP', port: 49134 }],
      });
      for (const o of list) expect(o.metadata.labels['app.kubernetes.io/part-of']).toBe('iii');
    });

    it('prints the kubectl command that fills the Secrets from the shell as iii would', async () => {
      expect(out.stderr).toContain('kubectl create secret generic busybox-env');
      expect(out.stderr).toContain('--from-literal=DATABASE_URL="postgres://app:${DB_PASSWORD?}@db/x"');
      const command = out.stderr.slice(out.stderr.indexOf('kubectl create secret generic busybox-env'));
      const first = command.slice(0, command.indexOf('\n\n'));
      // Run it with a kubectl that prints its arguments.
      const sh = (env: NodeJS.ProcessEnv) =>
        new Promise<{ code: number; stdout: string }>((resolve) =>
          execFile('sh', ['-c', `kubectl() { printf '%s\\n' "$@"; }\n${first}`], { env }, (err, stdout) =>
            resolve({ code: err ? 1 : 0, stdout }),
          ),
        );
      const filled = await sh({ PATH: process.env.PATH, DB_PASSWORD: 's3cret' });
      expect(filled.code).toBe(0);
      expect(filled.stdout).toContain('--from-literal=DATABASE_URL=postgres://app:s3cret@db/x\n');
      expect(filled.stdout).toContain('--from-literal=LOG_LEVEL=debug\n');
      // Unset without a default: the shell refuses, as iii does.
      expect((await sh({ PATH: process.env.PATH })).code).not.toBe(0);
    });
  });

  it('puts every object in --namespace and dials the engine by its namespaced name', async () => {
    const r = await iii(exportArgs('kubernetes', '--namespace', 'team-a', '-o', 'k8s/'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const files = (await readdir(join(sb.cwd, 'k8s'))).sort();
    expect(files).toContain('deployment-busybox.yaml');
    expect(files).toContain('service-iii-engine.yaml');
    for (const f of files) {
      const [o] = objects(await readFile(join(sb.cwd, 'k8s', f), 'utf8'));
      validateKubernetesObject(o);
      expect(o?.metadata.namespace).toBe('team-a');
    }
    const dep = objects(await readFile(join(sb.cwd, 'k8s', 'deployment-busybox.yaml'), 'utf8'))[0]!;
    expect(envOf(dep).III_URL).toBe('ws://iii-engine.team-a.svc:49134');
    expect(r.stderr).toContain('kubectl create secret generic busybox-env --namespace team-a');
  });

  it('with --engine-url, dials that engine and emits no engine objects', async () => {
    const r = await iii([
      'export',
      'kubernetes',
      '--engine-url',
      'ws://10.1.2.3:49134',
      ...pushTo(),
      '-o',
      'remote.yaml',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const list = objects(await readFile(join(sb.cwd, 'remote.yaml'), 'utf8'));
    for (const o of list) validateKubernetesObject(o);
    expect(list.some((o) => o.metadata.name === 'iii-engine')).toBe(false);
    expect(envOf(find(list, 'Deployment', 'node-worker')).III_URL).toBe('ws://10.1.2.3:49134');
    expect(find(list, 'NetworkPolicy', 'busybox-engine-only').spec.egress[0]).toEqual({
      to: [{ ipBlock: { cidr: '10.1.2.3/32' } }],
      ports: [{ protocol: 'TCP', port: 49134 }],
    });
  });

  it('with --inline-env, writes the values of this shell, and fails naming an unset variable', async () => {
    const args = exportArgs('kubernetes', '--inline-env');
    const r = await iii(args);
    expect(r.code, r.stderr).toBe(0);
    const env = envOf(find(objects(r.stdout), 'Deployment', 'busybox'));
    expect(env.DATABASE_URL).toBe(`postgres://app:${SECRET}@db/x`);
    expect(env.LOG_LEVEL).toBe('debug');
    expect(r.stderr).not.toContain('kubectl create secret');
    const unset = await run(sb, args);
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain('DB_PASSWORD');
    expect(unset.stdout).toBe('');
  });

  it('fails with one clear line for a worker name Kubernetes cannot take', async () => {
    const configPath = join(sb.cwd, 'bad.yaml');
    await writeFile(configPath, 'workers:\n  - name: Bad_Name_\n    image: docker.io/library/busybox:1\n');
    const r = await iii(['export', 'kubernetes', '--config', configPath, '--engine-image', engineImage]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^Error: worker "Bad_Name_" cannot be named in Kubernetes: "bad-name-" must start and end/m,
    );
  });
});

describe('iii export compose', () => {
  // biome-ignore lint/suspicious/noExplicitAny: the parsed Compose file.
  let file: any;
  let out: { code: number; stdout: string; stderr: string };
  beforeAll(async () => {
    out = await iii(exportArgs('compose', '-o', 'compose.yaml'));
    expect(out.code, out.stderr).toBe(0);
    file = parseDocument(await readFile(join(sb.cwd, 'compose.yaml'), 'utf8')).toJS();
  });

  it('writes a file valid against the Compose specification', () => {
    expect(validateCompose(file)).toEqual([]);
    expect(Object.keys(file.services).sort()).toEqual([
      'busybox',
      'iii-engine',
      'local-one',
      'nightly-batch',
      'node-worker',
      'url-worker',
    ]);
  });

  it('keeps ${VAR} as Compose interpolation and every literal $ escaped', async () => {
    const env = file.services.busybox.environment;
    expect(env.DATABASE_URL).toBe(
      'postgres://app:${DB_PASSWORD?set DB_PASSWORD, as config.yaml requires}@db/x',
    );
    expect(env.LOG_LEVEL).toBe('${LOG_LEVEL-debug}');
    expect(env.PRICE).toBe('5$$ and $$(HOME)');
    expect(env.III_URL).toBe('ws://iii-engine:49134');
    expect(file.services['node-worker'].environment.GREETING).toBe('${GREETING-hi $$5}');
    expect(await readFile(join(sb.cwd, 'compose.yaml'), 'utf8')).not.toContain(SECRET);
    expect(out.stderr).toContain('Set LOG_LEVEL, DB_PASSWORD, GREETING in the environment');
  });

  it('maps resources, restart, init and network: none', () => {
    expect(file.services.busybox.deploy.resources.limits).toEqual({ cpus: '0.25', memory: '128m' });
    expect(file.services['node-worker'].deploy.resources.limits).toEqual({ cpus: '1', memory: '1536m' });
    expect(file.services['nightly-batch'].restart).toBe('no');
    expect(file.services['node-worker'].init).toBe(true);
    expect(file.services['url-worker'].init).toBeUndefined();
    expect(file.services['node-worker'].restart).toBe('on-failure');
    expect(file.services.busybox.networks).toEqual(['busybox-engine-only']);
    expect(file.networks).toEqual({ 'busybox-engine-only': { internal: true } });
    expect(file.services['iii-engine'].networks).toEqual(['default', 'busybox-engine-only']);
    expect(file.services['iii-engine'].ports).toEqual(['127.0.0.1:49134:49134']);
    expect(file.services['url-worker'].entrypoint).toEqual([
      'node',
      '/app/url-worker.js',
      '--url',
      'ws://iii-engine:49134',
    ]);
  });
});

describe('iii start --no-workers', () => {
  it('runs the engine without starting the workers of config.yaml', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iii-no-workers-'));
    try {
      const { spawn } = await import('node:child_process');
      const { bin } = await import('./worker-harness.js');
      const child = spawn(process.execPath, [bin, 'start', '--no-workers', '--port', '0'], {
        cwd: sb.cwd,
        env: { ...sb.env, III_HOME: join(dir, 'home') },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      const listening = new Promise<void>((resolve) =>
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('without local workers')) resolve();
        }),
      );
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await listening;
      child.kill('SIGTERM');
      await exited;
      expect(err).toContain('iii engine listening on ws://127.0.0.1:');
      expect(err).not.toMatch(/busybox|node-worker/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
