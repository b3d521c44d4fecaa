/** Ids of the engine's built-in functions that SDKs and tools call. */
export const EngineFunctions = {
  RegisterWorker: 'engine::workers::register',
  ListWorkers: 'engine::workers::list',
  ListFunctions: 'engine::functions::list',
  FunctionInfo: 'engine::functions::info',
  LogInfo: 'engine::log::info',
  LogWarn: 'engine::log::warn',
  LogError: 'engine::log::error',
  LogDebug: 'engine::log::debug',
} as const;

/** Default engine address when neither the caller nor the environment names one. */
export const DEFAULT_ENGINE_URL = 'ws://localhost:49134';
