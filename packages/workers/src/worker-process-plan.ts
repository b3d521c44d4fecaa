import { flattenConfig, flattenConfigWithOrigins, InterpolationError, type WorkerEntry } from '@iii/config';
import {
  type ImageRoot,
  readFileInRoot,
  resolveUser,
  type SandboxImageConfig,
  type WorkerProcess,
  workerProcess,
} from '@iii/sandbox';

/** Inputs of {@link planWorkerProcess}. */
export interface PlanWorkerProcessInput {
  imageConfig: SandboxImageConfig;
  /**
   * The unpacked image rootfs or its layers (top first), when there is one: its /etc/passwd gives
   * the USER's HOME.
   */
  imageRootfs?: ImageRoot;
  name: string;
  /** `config:` interpolated and flattened into variables. */
  config: Record<string, string>;
  /** The address the engine listens on (running, or as config.yaml says it will). */
  engineUrl: string;
}

/**
 * How a worker runs (argv, environment, the engine address and the rule that chose it), computed
 * by the sandbox's rule (`workerProcess`): the engine starts a worker with this plan, and
 * `iii worker inspect` shows it, so what inspect shows is what runs.
 */
export async function planWorkerProcess(input: PlanWorkerProcessInput): Promise<WorkerProcess> {
  const [passwd, group] = input.imageRootfs
    ? await Promise.all([
        readFileInRoot(input.imageRootfs, '/etc/passwd'),
        readFileInRoot(input.imageRootfs, '/etc/group'),
      ])
    : [undefined, undefined];
  let home: string | undefined;
  try {
    home = resolveUser(input.imageConfig.config?.User ?? undefined, passwd, group).home;
  } catch {
    // An unknown USER fails the start itself (and says so); the rest of the plan still holds.
  }
  return workerProcess({
    imageConfig: input.imageConfig,
    worker: { name: input.name, config: input.config },
    engineUrl: input.engineUrl,
    ...(home !== undefined ? { home } : {}),
  });
}

/** A worker's `config:` as `iii worker inspect` shows it outside the running engine. */
export interface InspectedConfig {
  /** Flattened and interpolated; a key whose `${VAR}` is unset here keeps its text as written. */
  values: Record<string, string>;
  /** Keys filled from `${VAR}`, as written: shown instead of the value unless revealed. */
  written: Record<string, string>;
  /** Keys whose `${VAR}` is not set in `env`, e.g. `API_KEY (${KEY} is not set here)`. */
  unresolved: string[];
}

/**
 * `config:` flattened into variables for display, key by key, so one unset `${VAR}` leaves the
 * others resolved (the engine's start fails on it instead, and says so).
 */
export function inspectWorkerConfig(
  entry: Pick<WorkerEntry, 'name' | 'config'>,
  env: Record<string, string | undefined>,
): InspectedConfig {
  const values: Record<string, string> = {};
  const written: Record<string, string> = {};
  const unresolved: string[] = [];
  for (const [key, value] of Object.entries(flattenConfig(entry.config))) {
    try {
      const flat = flattenConfigWithOrigins({ [key]: value }, { env, worker: entry.name });
      Object.assign(values, flat.values);
      Object.assign(written, flat.written);
    } catch (err) {
      if (!(err instanceof InterpolationError)) throw err;
      values[key] = value;
      unresolved.push(`${key} (\${${err.variable}} is not set here)`);
    }
  }
  return { values, written, unresolved };
}
