/**
 * The `type` discriminator of every frame on the engine <-> worker WebSocket, as spoken by the official
 * iii engine and SDKs. A plain object (not a TS enum) so unused members tree-shake away.
 */
export const MessageType = {
  WorkerRegistered: 'workerregistered',
  Reattach: 'reattach',
  RegisterFunction: 'registerfunction',
  UnregisterFunction: 'unregisterfunction',
  InvokeFunction: 'invokefunction',
  InvocationResult: 'invocationresult',
  RegisterTriggerType: 'registertriggertype',
  UnregisterTriggerType: 'unregistertriggertype',
  RegisterTrigger: 'registertrigger',
  UnregisterTrigger: 'unregistertrigger',
  TriggerRegistrationResult: 'triggerregistrationresult',
  RegistrationRejected: 'registrationrejected',
  Ping: 'ping',
  Pong: 'pong',
  Error: 'error',
} as const;

export type MessageType = (typeof MessageType)[keyof typeof MessageType];
