export {
  type ConnectEngineOptions,
  connectEngine,
  EngineControlClient,
  type EngineTarget,
  engineNotRunning,
  findEngine,
  runningWorkerDetails,
  type StopRunningWorkersOptions,
  stopRunningWorker,
  stopRunningWorkers,
} from './engine-client.js';
export type { WorkerController } from './worker-controller.js';
export { WorkerFunctions, workerFunctions } from './worker-functions.js';
