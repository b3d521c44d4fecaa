/**
 * The base of every error the iii packages throw on purpose: a stable `code` for programs and a
 * `hint` for people, so a CLI renders any of them as one line of what went wrong and one of what to
 * do. Each package derives its own base from it (`ConfigError`, `OciError`, ...).
 */
export class IiiError extends Error {
  readonly code: string;
  readonly hint: string;

  constructor(code: string, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
  }
}
