import { interpolationParts } from '@iii/config';
import { ENGINE_NAME } from './names.js';
import { type ExportPlan, type SecretKey, secretKeysOf } from './plan.js';
import type { ExportedWorker } from './worker-plan.js';

/** A Compose service, as far as the exporter writes one. */
export interface ComposeService {
  image: string;
  hostname?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  /** Run an init as PID 1 (Docker's tini, podman's catatonit). */
  init?: boolean;
  ports?: string[];
  restart?: string;
  depends_on?: string[];
  networks?: string[];
  deploy?: { resources: { limits: { cpus?: string; memory?: string } } };
}

/** A Compose file as `iii export compose` writes it: its services and networks. */
export interface ComposeFile {
  services: Record<string, ComposeService>;
  networks?: Record<string, { internal: boolean }>;
}

/** What {@link composeExport} made: the Compose file, the variables it needs, and warnings. */
export interface ComposeExport {
  file: ComposeFile;
  /** The variables `docker compose up` must find in its environment (or .env), per worker. */
  variables: { worker: string; keys: SecretKey[] }[];
  warnings: string[];
}

/** Compose reads `$` as the start of a variable: a literal one is `$$`. */
function literal(value: string): string {
  return value.replaceAll('$', '$$$$');
}

/** A config.yaml string as Compose interpolation: `${VAR}` is required, `${VAR:d}` has a default. */
export function composeTemplate(written: string): string {
  return interpolationParts(written)
    .map((p) =>
      'text' in p
        ? literal(p.text)
        : p.default === undefined
          ? `\${${p.variable}?set ${p.variable}, as config.yaml requires}`
          : `\${${p.variable}-${literal(p.default)}}`,
    )
    .join('');
}

/** Docker's memory units are binary: `m` is MiB. */
function memory(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}m`;
  if (bytes % 1024 === 0) return `${bytes / 1024}k`;
  return `${bytes}b`;
}

const RESTART = { always: 'always', 'on-failure': 'on-failure', never: 'no' } as const;

function service(worker: ExportedWorker, plan: ExportPlan, warnings: string[]): ComposeService {
  const environment: Record<string, string> = {};
  for (const { name, from } of worker.env) {
    environment[name] = 'value' in from ? literal(from.value) : composeTemplate(from.written);
  }
  const limits: { cpus?: string; memory?: string } = {};
  if (worker.resources.cpus !== undefined) limits.cpus = String(worker.resources.cpus);
  if (worker.resources.memory !== undefined) limits.memory = memory(worker.resources.memory);
  const s: ComposeService = {
    image: worker.image,
    hostname: worker.objectName,
    ...(worker.argv
      ? {
          // Setting the entrypoint also clears the image's CMD: argv is the whole command line.
          entrypoint: worker.argv.map((a) =>
            typeof a === 'string' ? literal(a) : `${literal(a.prefix ?? '')}${composeTemplate(a.written)}`,
          ),
        }
      : {}),
    environment,
    // Docker's tini (podman's catatonit) as PID 1, as iii runs tini.
    ...(worker.init ? { init: true } : {}),
    restart: RESTART[worker.restart],
    ...(plan.engine ? { depends_on: [ENGINE_NAME] } : {}),
    ...(Object.keys(limits).length > 0 ? { deploy: { resources: { limits } } } : {}),
  };
  if (worker.network === 'none') {
    if (plan.engine) s.networks = [isolatedNetwork(worker)];
    else {
      warnings.push(
        `worker "${worker.name}": network: none is dropped: Compose cannot limit a service to an engine outside the project`,
      );
    }
  }
  return s;
}

function isolatedNetwork(worker: ExportedWorker): string {
  return `${worker.objectName}-engine-only`;
}

/** A Compose file that runs the plan: the engine service (unless it runs elsewhere), then each worker. */
export function composeExport(plan: ExportPlan): ComposeExport {
  const warnings: string[] = [];
  const services: Record<string, ComposeService> = {};
  const isolated = plan.engine ? plan.workers.filter((w) => w.network === 'none').map(isolatedNetwork) : [];
  if (plan.engine) {
    services[ENGINE_NAME] = {
      image: plan.engine.image,
      // Published on this machine's loopback only: `iii trigger --address` reaches it, nobody else.
      ports: [`127.0.0.1:${plan.engine.port}:${plan.engine.containerPort}`],
      restart: 'always',
      ...(isolated.length > 0 ? { networks: ['default', ...isolated] } : {}),
    };
  }
  for (const worker of plan.workers) services[worker.objectName] = service(worker, plan, warnings);
  const file: ComposeFile = { services };
  // `network: none`: an internal network (no way out) shared with the engine only.
  if (isolated.length > 0) file.networks = Object.fromEntries(isolated.map((n) => [n, { internal: true }]));
  const variables = plan.workers
    .map((w) => ({ worker: w.name, keys: secretKeysOf(w) }))
    .filter((v) => v.keys.length > 0);
  return { file, variables, warnings };
}
