import { EngineNotRunningError, engineNotRunning, parseDuration, readEngineRecord } from '@iii/engine/client';
import { EngineConnectionError, InvocationError, registerWorker } from '@iii/sdk';
import { Args, Errors, Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { currentProject } from '../lib/project.js';
import { configFlag } from '../lib/worker-flags.js';

/** A function's own failure, shown as `Error: <code>: <message>` with what to do next. */
class FunctionError extends Error {
  readonly code: string;
  readonly hint: string;
  constructor(err: InvocationError, functionId: string, timeoutMs: number) {
    super(err.message);
    this.code = err.code;
    this.hint =
      err.code === 'function_not_found'
        ? 'List the functions of the running workers with `iii trigger engine::functions::list`.'
        : err.code === 'forbidden'
          ? 'Management functions answer the engine owner only: run as the user who started `iii`, or set III_TOKEN to its token.'
          : err.code === 'TIMEOUT'
            ? `No answer within ${timeoutMs} ms; raise --timeout or check the worker's logs with \`iii worker logs <name>\`.`
            : err.code === 'invocation_stopped'
              ? `The worker serving ${functionId} went away mid-call; see \`iii worker list\`.`
              : `Reported by the worker serving ${functionId}; see its logs with \`iii worker logs <name>\`.`;
    if (err.stacktrace) this.stack = err.stacktrace;
  }
}

/** `key=value` is a string, `key:=value` is JSON (as in HTTPie), so `n:=5` is a number and `id=007` stays text. */
function parsePairs(pairs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const json = /^([^=:]+):=(.*)$/s.exec(pair);
    if (json) {
      try {
        out[json[1]!] = JSON.parse(json[2]!);
      } catch {
        throw new Errors.CLIError(`${json[1]}:= needs a JSON value, got ${JSON.stringify(json[2])}`, {
          exit: 2,
        });
      }
      continue;
    }
    const text = /^([^=]+)=(.*)$/s.exec(pair);
    if (!text) {
      throw new Errors.CLIError(`expected key=value or key:=json, got ${JSON.stringify(pair)}`, { exit: 2 });
    }
    out[text[1]!] = text[2];
  }
  return out;
}

export default class Trigger extends BaseCommand {
  static override summary = 'Call a function through the running engine and print its result.';
  static override description =
    'Finds the running `iii` (--address, then $III_URL, then the running `iii` of the project of --config, $III_CONFIG_PATH or ./config.yaml, whose management token it presents; elsewhere it presents $III_TOKEN if set), invokes the function with the given data and prints the result as JSON on stdout. A function error prints its code and message on stderr and exits 1.';
  static override examples = [
    {
      description: 'Call with key=value pairs (strings) and key:=json values',
      command: '<%= config.bin %> trigger image-resize::resize url=https://example.com/a.png width:=320',
    },
    {
      description: 'Call with a JSON document',
      command: `<%= config.bin %> trigger orders::create --data '{"sku":"A-1","qty":2}'`,
    },
    {
      description: 'List the functions the engine can route',
      command: '<%= config.bin %> trigger engine::functions::list',
    },
    {
      description: 'Give a slow function more time',
      command: '<%= config.bin %> trigger reports::build --timeout 2m',
    },
  ];
  static override strict = false;
  static override args = {
    function: Args.string({ description: 'Function id, e.g. `my-worker::hello`.', required: true }),
  };
  static override flags = {
    data: Flags.string({
      char: 'd',
      description: 'Input as a JSON document (instead of key=value pairs). Default {}.',
      helpValue: '<json>',
    }),
    timeout: Flags.string({
      char: 't',
      description: 'How long to wait for the result: 30s, 2m, 1500ms. Default 30s.',
      default: '30s',
      helpValue: '<duration>',
    }),
    address: Flags.string({
      description: 'Engine WebSocket address (default $III_URL, then the running `iii` of config.yaml).',
      helpValue: '<ws://host:port>',
    }),
    config: configFlag,
  };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(Trigger);
    const pairs = (argv as string[]).slice(1);
    if (flags.data !== undefined && pairs.length > 0) {
      throw new Errors.CLIError('give either --data or key=value pairs, not both', { exit: 2 });
    }
    let payload: unknown = {};
    if (flags.data !== undefined) {
      try {
        payload = JSON.parse(flags.data);
      } catch (err) {
        throw new Errors.CLIError(`--data is not valid JSON: ${(err as Error).message}`, { exit: 2 });
      }
    } else if (pairs.length > 0) {
      payload = parsePairs(pairs);
    }
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(flags.timeout, '--timeout');
    } catch (err) {
      throw new Errors.CLIError((err as Error).message, { exit: 2 });
    }

    const project =
      (flags.address ?? process.env.III_URL) ? undefined : currentProject({ config: flags.config });
    const record = project ? await readEngineRecord(project) : undefined;
    const address = flags.address ?? process.env.III_URL ?? record?.address;
    if (!address) throw project ? await engineNotRunning(project) : new EngineNotRunningError();
    // The local `iii` is ours: present its token. Elsewhere the SDK presents $III_TOKEN if set.
    const headers = record?.token ? { Authorization: `Bearer ${record.token}` } : undefined;

    // One connect attempt, not announced as a worker: the CLI is a caller, not part of the system.
    const client = registerWorker(address, {
      workerName: 'iii-cli',
      announce: false,
      reconnectionConfig: { maxRetries: 0 },
      invocationTimeoutMs: timeoutMs,
      ...(headers ? { headers } : {}),
    });
    try {
      const result = await client.trigger({ function_id: args.function, payload, timeoutMs });
      process.stdout.write(`${JSON.stringify(result ?? null, null, 2)}\n`);
    } catch (err) {
      if (err instanceof InvocationError) throw new FunctionError(err, args.function, timeoutMs);
      if (err instanceof EngineConnectionError)
        throw new EngineNotRunningError(`nothing answers at ${address}`);
      throw err;
    } finally {
      await client.shutdown();
    }
  }
}
