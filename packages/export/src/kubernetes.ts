import { interpolationParts } from '@iii/config';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { IService } from 'kubernetes-models/v1/Service';
import { ENGINE_NAME } from './names.js';
import { type ExportPlan, type SecretKey, secretKeysOf } from './plan.js';
import type { ExportedWorker } from './worker-plan.js';

/** One Kubernetes object `iii export kubernetes` writes: a Deployment, Job, Service or NetworkPolicy. */
export type KubernetesObject = IDeployment | IJob | IService | INetworkPolicy;

/** A Secret the user creates before applying: its keys and the command that creates it. */
export interface KubernetesSecret {
  name: string;
  keys: SecretKey[];
  /** `kubectl create secret generic ...`, filling each key from the user's shell as iii would. */
  command: string;
}

/** What {@link kubernetesExport} made: the objects, the Secrets to create first, and warnings. */
export interface KubernetesExport {
  objects: KubernetesObject[];
  secrets: KubernetesSecret[];
  /** What config.yaml says that Kubernetes cannot express, one line each. */
  warnings: string[];
}

const PART_OF = 'iii';
const WS_PORT_NAME = 'ws';

function labels(name: string, component: 'worker' | 'engine'): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': 'iii',
  };
}

/** The labels a Deployment selects its pods by (never changed by a later export). */
function selector(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': PART_OF };
}

/** Fractional CPUs as millicores, memory as Mi when whole (else Ki, else bytes), as kubectl writes them. */
export function kubernetesResources(r: ExportedWorker['resources']): IResourceRequirements | undefined {
  const limits: Record<string, string> = {};
  if (r.cpus !== undefined) limits.cpu = `${Math.max(1, Math.round(r.cpus * 1000))}m`;
  if (r.memory !== undefined) limits.memory = memoryQuantity(r.memory);
  if (Object.keys(limits).length === 0) return undefined;
  // Requests equal to limits: the scheduler reserves what iii would cap the worker at.
  return { limits, requests: { ...limits } };
}

function memoryQuantity(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}Mi`;
  if (bytes % 1024 === 0) return `${bytes / 1024}Ki`;
  return String(bytes);
}

/** Kubernetes expands `$(VAR)` in env values and args, and reads `$$` as `$`: a literal keeps both as written. */
function literal(value: string): string {
  return value.replace(/\$(?=[$(])/g, '$$$$');
}

function secretName(worker: ExportedWorker): string {
  return `${worker.objectName}-env`;
}

function envVars(worker: ExportedWorker): IEnvVar[] {
  return worker.env.map(({ name, from }) =>
    'value' in from
      ? { name, value: literal(from.value) }
      : { name, valueFrom: { secretKeyRef: { name: secretName(worker), key: from.secretKey } } },
  );
}

function container(worker: ExportedWorker): IContainer {
  const resources = kubernetesResources(worker.resources);
  return {
    name: 'worker',
    image: worker.image,
    // The image's ENTRYPOINT and CMD run as they are, unless iii rewrites a `--url` in them.
    ...(worker.argv
      ? {
          command: worker.argv.map((a) =>
            typeof a === 'string' ? literal(a) : `${literal(a.prefix ?? '')}$(${a.secretKey})`,
          ),
          args: [],
        }
      : {}),
    env: envVars(worker),
    ...(resources ? { resources } : {}),
  };
}

function podSpec(worker: ExportedWorker, restartPolicy: 'Always' | 'Never'): IPodSpec {
  return {
    // As on one machine, the worker's hostname is its name.
    hostname: worker.objectName,
    restartPolicy,
    // As iii's init does on one machine: the pod's pause process is PID 1, so a worker without a
    // SIGTERM handler gets its default action (exits) instead of SIGKILL after the grace period.
    ...(worker.init ? { shareProcessNamespace: true } : {}),
    containers: [container(worker)],
  };
}

function metadata(name: string, plan: ExportPlan, l: Record<string, string>) {
  return { name, ...(plan.namespace ? { namespace: plan.namespace } : {}), labels: l };
}

function workerObjects(worker: ExportedWorker, plan: ExportPlan, warnings: string[]): KubernetesObject[] {
  const l = labels(worker.objectName, 'worker');
  const objects: KubernetesObject[] = [];
  if (worker.restart === 'never') {
    // Runs once; a failed run is not retried, as `restart: never` says.
    objects.push({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: metadata(worker.objectName, plan, l),
      spec: {
        backoffLimit: 0,
        template: { metadata: { labels: l }, spec: podSpec(worker, 'Never') },
      },
    });
  } else {
    if (worker.restart === 'on-failure' && worker.restartWritten) {
      warnings.push(
        `worker "${worker.name}": restart: on-failure is not expressible by a Deployment, which restarts a worker after every exit`,
      );
    }
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: metadata(worker.objectName, plan, l),
      spec: {
        replicas: 1,
        selector: { matchLabels: selector(worker.objectName) },
        template: { metadata: { labels: l }, spec: podSpec(worker, 'Always') },
      },
    });
  }
  if (worker.network === 'none') objects.push(isolation(worker, plan, warnings));
  return objects;
}

/** `network: none`: the worker may reach the engine (and DNS to find it), nothing else, and nothing reaches it. */
function isolation(worker: ExportedWorker, plan: ExportPlan, warnings: string[]): INetworkPolicy {
  const dns: INetworkPolicyEgressRule = {
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  };
  let engine: INetworkPolicyEgressRule[] = [];
  if (plan.engine) {
    engine = [
      {
        to: [{ podSelector: { matchLabels: selector(ENGINE_NAME) } }],
        ports: [{ protocol: 'TCP', port: plan.engine.port }],
      },
    ];
  } else {
    const url = new URL(plan.engineUrl);
    const port = Number(url.port || (url.protocol === 'wss:' ? 443 : 80));
    const ip = /^\d+\.\d+\.\d+\.\d+$/.test(url.hostname) ? url.hostname : undefined;
    if (!ip) {
      warnings.push(
        `worker "${worker.name}": network: none allows TCP port ${port} to any address, since a NetworkPolicy cannot name the host ${url.hostname}`,
      );
    }
    engine = [
      { ...(ip ? { to: [{ ipBlock: { cidr: `${ip}/32` } }] } : {}), ports: [{ protocol: 'TCP', port }] },
    ];
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(`${worker.objectName}-engine-only`, plan, labels(worker.objectName, 'worker')),
    spec: {
      podSelector: { matchLabels: selector(worker.objectName) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [...engine, dns],
    },
  };
}

function engineObjects(plan: ExportPlan): KubernetesObject[] {
  if (!plan.engine) return [];
  const l = labels(ENGINE_NAME, 'engine');
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: metadata(ENGINE_NAME, plan, l),
      spec: {
        replicas: 1,
        selector: { matchLabels: selector(ENGINE_NAME) },
        template: {
          metadata: { labels: l },
          spec: {
            containers: [
              {
                name: 'engine',
                image: plan.engine.image,
                // No `ports:` (informational in Kubernetes): `podman kube play` would publish them on
                // every address of the machine. The Service targets the port by number.
                readinessProbe: { tcpSocket: { port: plan.engine.containerPort } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(ENGINE_NAME, plan, l),
      spec: {
        selector: selector(ENGINE_NAME),
        ports: [{ name: WS_PORT_NAME, port: plan.engine.port, targetPort: plan.engine.containerPort }],
      },
    },
  ];
}

/** A config.yaml string as a double-quoted shell word: `${VAR}` fails when unset, `${VAR:d}` defaults. */
export function shellWord(written: string): string {
  const quote = (text: string) => text.replace(/[\\"$`]/g, (c) => `\\${c}`);
  return `"${interpolationParts(written)
    .map((p) =>
      'text' in p
        ? quote(p.text)
        : p.default === undefined
          ? `\${${p.variable}?}`
          : `\${${p.variable}-${quote(p.default)}}`,
    )
    .join('')}"`;
}

function secrets(plan: ExportPlan): KubernetesSecret[] {
  const out: KubernetesSecret[] = [];
  for (const worker of plan.workers) {
    const keys = secretKeysOf(worker);
    if (keys.length === 0) continue;
    const name = secretName(worker);
    const ns = plan.namespace ? ` --namespace ${plan.namespace}` : '';
    const literals = keys.map((k) => ` \\\n  --from-literal=${k.key}=${shellWord(k.written)}`).join('');
    out.push({ name, keys, command: `kubectl create secret generic ${name}${ns}${literals}` });
  }
  return out;
}

/** The objects that run the plan on Kubernetes: the engine (unless it runs elsewhere), then each worker. */
export function kubernetesExport(plan: ExportPlan): KubernetesExport {
  const warnings: string[] = [];
  const objects = [...engineObjects(plan), ...plan.workers.flatMap((w) => workerObjects(w, plan, warnings))];
  return { objects, secrets: secrets(plan), warnings };
}
