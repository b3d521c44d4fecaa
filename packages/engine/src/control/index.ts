export {
  type ConnectEngineOptions,
  connectEngine,
  EngineControlClient,
  type EngineTarget,
  engineNotRunning,
  findEngine,
  imagesInUse,
  type ProjectInUse,
  runningWorkerDetails,
  type StopRunningWorkersOptions,
  stopRunningWorker,
  stopRunningWorkers,
} from './engine-client.js';
export type { WorkerController } from './worker-controller.js';
export { WorkerFunctions, workerFunctions } from './worker-functions.js';
