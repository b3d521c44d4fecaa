/**
 * The engine could not be reached and the client gave up reconnecting (only when `maxRetries` is set),
 * or the client was shut down while a call was waiting.
 */
export class EngineConnectionError extends Error {
  override readonly name = 'EngineConnectionError';
  readonly code: 'ENGINE_UNREACHABLE' | 'CLIENT_SHUT_DOWN';
  readonly hint: string;

  constructor(code: EngineConnectionError['code'], message: string, hint: string) {
    super(message);
    this.code = code;
    this.hint = hint;
  }
}
