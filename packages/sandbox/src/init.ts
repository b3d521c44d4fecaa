import { realpath } from 'node:fs/promises';
import { which } from './runtime/detect.js';

/**
 * The init each sandbox runs as its PID 1: tini, as Docker's `--init` does, in its static build
 * (Debian's `tini` package ships it as `tini-static`), so it runs in any image (glibc, musl,
 * distroless). The kernel drops a signal whose action is the default for the PID 1 of a pid
 * namespace, so a worker that is PID 1 and installs no SIGTERM handler would ignore SIGTERM and
 * wait the whole grace period of every stop; below tini it gets the default action, while tini
 * forwards the signals, reaps zombies and exits with the worker's status (128+n for signal n).
 */
export const INIT_BINARY = 'tini-static';

/** Where the init binary is bind-mounted (read-only) in each sandbox: on its /dev tmpfs, as Docker does, so the image's root is untouched. */
export const INIT_PATH_IN_SANDBOX = '/dev/init';

/** What to install when the init binary is missing. */
export const INIT_INSTALL_HINT = `Install tini for its ${INIT_BINARY} (apt-get install tini; dnf install tini-static)`;

/** The init the sandbox puts at PID 1 of each worker, or why there is none. */
export type SandboxInit =
  | { path: string }
  | {
      /** Why workers run without an init. */
      reason: string;
      hint: string;
    };

/**
 * Finds the init binary on `PATH` ({@link INIT_BINARY}). `configured`: a path to use instead, or
 * false for none. Never throws: a missing binary comes back with the reason and what to install.
 */
export async function findInit(env: NodeJS.ProcessEnv, configured?: string | false): Promise<SandboxInit> {
  if (configured === false) {
    return { reason: 'no init is configured for this sandbox', hint: INIT_INSTALL_HINT };
  }
  const found = await which(configured ?? INIT_BINARY, env);
  if (!found) {
    return {
      reason: configured ? `${configured} is not an executable file` : `${INIT_BINARY} is not on PATH`,
      hint: INIT_INSTALL_HINT,
    };
  }
  // The bind mount takes the file itself, and its mount's locked flags are looked up by its path.
  return { path: await realpath(found).catch(() => found) };
}
