export {
  type ConnectEngineOptions,
  connectEngine,
  EngineControlClient,
  runningWorkerDetails,
  stopRunningWorker,
} from './engine-client.js';
export type { WorkerController } from './worker-controller.js';
export { WorkerFunctions, workerFunctions } from './worker-functions.js';
