export {
  type ConnectEngineOptions,
  connectEngine,
  EngineControlClient,
  type EngineTarget,
  findEngine,
  runningWorkerDetails,
  stopRunningWorker,
} from './engine-client.js';
export type { WorkerController } from './worker-controller.js';
export { WorkerFunctions, workerFunctions } from './worker-functions.js';
