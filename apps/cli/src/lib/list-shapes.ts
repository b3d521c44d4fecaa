import * as z from 'zod';

/**
 * The `--json` shape of `iii worker list`, as the command builds it: every key is always present
 * (`null` when it does not apply). A file of its own, apart from the other commands' shapes in
 * json-shapes.ts, so `iii worker list` builds only its own schemas when it starts (building a zod
 * schema runs, and compiles, a good deal of code). docs/json-output.md is generated from these
 * (`npm run docs:json`), and a test fails when the page is not current.
 */
/** A key that does not always apply: present as `null` then. */
export const maybe = <T extends z.ZodType>(schema: T) => schema.nullable().default(null);

/** One worker as `iii worker list --json` shows it (also `run` of `iii worker inspect --json`). */
export const workerRowSchema = z.looseObject({
  name: z.string().describe('Worker name.'),
  image: z.string().describe('Image reference as written in config.yaml.'),
  digest: maybe(z.string()).describe('Digest it runs (or would run: the pinned one); null when not pinned.'),
  pinnedDigest: maybe(z.string()).describe(
    'Digest iii.lock pins now when it differs from the one it runs (after `update` or `add --force`, until `iii worker restart`).',
  ),
  status: z
    .string()
    .describe(
      '`not started`, `starting`, `running`, `restarting`, `exited`, `stopped`, `disabled` or `orphaned`.',
    ),
  pid: maybe(z.number()).describe('Host pid of its sandbox init while it runs.'),
  startedAt: maybe(z.string()).describe('When the current run began (RFC 3339).'),
  uptimeMs: maybe(z.number()).describe('How long the current run has lasted, in ms.'),
  restarts: z.number().describe('Restarts after exits, over the life of this `iii`.'),
  lastExitCode: maybe(z.number()).describe('Exit code of the last run.'),
  oomKilled: maybe(z.boolean()).describe('Whether the last run was killed for exceeding its memory limit.'),
  nextRestartAt: maybe(z.string()).describe('While `restarting`: when the next start is due (RFC 3339).'),
  lastOutput: maybe(z.array(z.string())).describe(
    'Last lines it printed: in a list only for a worker restarting or exited; in inspect for any.',
  ),
  configChanged: maybe(z.boolean()).describe(
    'While it runs: whether config.yaml or iii.lock now plan it differently from how it runs (applied by the watch of `iii`, or by `iii reload` when it runs with --no-watch).',
  ),
  error: maybe(z.string()).describe('Why it could not start.'),
  stoppedAt: maybe(z.string()).describe(
    'When `iii worker stop` stopped it (RFC 3339); it stays stopped across restarts of `iii` until `iii worker start`.',
  ),
  connected: maybe(z.boolean()).describe('While it runs: whether it holds a connection to the engine.'),
  connectedSince: maybe(z.string()).describe('When that connection was opened (RFC 3339).'),
  connectionId: maybe(z.string()).describe("The engine's id of that connection."),
});

export const orphanSchema = z.looseObject({
  name: maybe(z.string()).describe(
    'The worker it runs (null for a container id this $III_HOME did not name).',
  ),
  containerId: z.string().describe('Container id.'),
  runtime: z.string().describe('OCI runtime that runs it.'),
  pid: z.number().describe('Host pid of its init.'),
});

export const listSchema = z.looseObject({
  engine: maybe(
    z.looseObject({
      pid: z.number().describe('Pid of the running `iii`.'),
      address: z.string().describe('Where its engine listens.'),
      configPath: z.string().describe('The config.yaml it runs.'),
    }),
  ).describe('The running `iii`; null when the rows come from config.yaml alone.'),
  workers: z.array(workerRowSchema).describe('One row per worker, in config.yaml order.'),
  orphans: z
    .array(orphanSchema)
    .describe(
      'Sandboxes still running although `iii` is not (`iii system cleanup` stops them); empty while it runs.',
    ),
});
