export {
  type ConnectEngineOptions,
  connectEngine,
  EngineControlClient,
  type EngineTarget,
  findEngine,
  runningWorkerDetails,
  type StopRunningWorkersOptions,
  stopRunningWorker,
  stopRunningWorkers,
} from './engine-client.js';
export type { WorkerController } from './worker-controller.js';
export { WorkerFunctions, workerFunctions } from './worker-functions.js';
