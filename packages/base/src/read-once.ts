/**
 * The options to pass zod when validating a document read once (a file, a registry reply): zod's fast
 * path for objects generates and compiles a parser for each schema the first time it is used, which
 * costs a one-shot parse more than it saves (1.5 to 6 ms of a command's start each time, measured).
 * Validations repeated many times in one process (messages, log records) leave it on.
 */
export const READ_ONCE = { jitless: true } as const;
