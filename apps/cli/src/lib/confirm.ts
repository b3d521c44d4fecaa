import { createInterface } from 'node:readline/promises';

/** Raised when a destructive command would need to ask but cannot (no terminal) and `-y` was not given. */
export class ConfirmationRequiredError extends Error {
  readonly code = 'CONFIRMATION_REQUIRED';
  readonly hint: string;
  constructor(action: string) {
    super(`refusing to ${action} without confirmation: not on a terminal`);
    this.name = 'ConfirmationRequiredError';
    this.hint = 'Pass -y to confirm.';
  }
}

export interface ConfirmIo {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * Asks `question [y/N]` on the terminal. Without a terminal there is nobody to ask, so the caller
 * must have been given `-y`; answering anything but y/yes declines.
 */
export async function confirm(
  question: string,
  action: string,
  io: ConfirmIo = { input: process.stdin, output: process.stderr },
): Promise<boolean> {
  if (!io.input.isTTY || !io.output.isTTY) throw new ConfirmationRequiredError(action);
  const rl = createInterface({ input: io.input, output: io.output });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
