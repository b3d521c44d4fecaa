import type { ImageLayer, SandboxImageConfig, WorkerDefinition } from '@iii/sandbox';
import { planWorkerProcess } from '@iii/workers';
import type { WorkerPlan } from './worker-plan.js';

export interface WorkerStartInput {
  plan: WorkerPlan;
  /** The pinned image, located by `loadWorkerImage`. */
  image: { rootfs: string; layers?: ImageLayer[]; config: SandboxImageConfig };
  /** The address the engine listens on. */
  engineUrl: string;
  stopTimeoutMs: number;
}

/**
 * What the sandbox starts for a worker. Argv and environment come from `planWorkerProcess` of
 * `@iii/workers`, the call `iii worker inspect` shows them with, so what inspect shows is what runs.
 */
export async function workerStartDefinition(input: WorkerStartInput): Promise<WorkerDefinition> {
  const { plan, image, engineUrl } = input;
  const process = await planWorkerProcess({
    imageConfig: image.config,
    imageRootfs: image.layers ?? image.rootfs,
    name: plan.name,
    config: plan.config,
    engineUrl,
  });
  return {
    name: plan.name,
    config: plan.config,
    resources: plan.resources,
    network: plan.network,
    init: plan.init,
    imageRootfs: image.rootfs,
    ...(image.layers ? { imageLayers: image.layers } : {}),
    imageConfig: image.config,
    engineUrl,
    process,
    restart: plan.restart,
    stopTimeoutMs: input.stopTimeoutMs,
  };
}
