import {
  type ImageConfig,
  readFileInRoot,
  resolveUser,
  type WorkerProcess,
  workerProcess,
} from '@iii/sandbox';

export interface PlanWorkerProcessInput {
  imageConfig: ImageConfig;
  /** The unpacked image rootfs, when there is one: its /etc/passwd gives the USER's HOME. */
  imageRootfs?: string;
  name: string;
  /** `config:` interpolated and flattened into variables. */
  config: Record<string, string>;
  /** The address the engine listens on (running, or as config.yaml says it will). */
  engineUrl: string;
}

/**
 * How a worker runs (argv, environment, the engine address and the rule that chose it), computed
 * by the same function the sandbox builds its runtime spec with, for `iii worker inspect`.
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
