import { loadConfig } from '@iii/config';
import { engineNotRunning, execInWorker, parseDuration, UnknownWorkerError } from '@iii/engine';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { splitCommand } from '../../lib/exec-argv.js';
import { currentProject } from '../../lib/project.js';
import { runningEngine } from '../../lib/running-engine.js';
import { usageError } from '../../lib/usage-error.js';
import { configFlag } from '../../lib/worker-flags.js';

/** Exit code after a forced kill by a second Ctrl-C, like a shell's for SIGINT. */
const INTERRUPTED = 130;

export default class WorkerExec extends BaseCommand {
  static override summary = "Run a command inside a running worker's sandbox.";
  static override description =
    "The command runs in the worker's namespaces and root filesystem, with its environment, user and working directory unless overridden. stdin, stdout and stderr flow through and its exit code is ours. As with docker exec, everything after the worker name is the command (`--` before it is optional; flags of exec go before the name, or between it and a `--`). A terminal is allocated with -t, and by default when stdin and stdout are terminals; -i alone (as in `docker exec -i`) passes stdin without a terminal, and --no-interactive gives the command an empty stdin. With a terminal, what you type always reaches the command: the runtime relays the terminal as a whole, so -t implies -i. Ctrl-C sends SIGINT to the command; a second Ctrl-C within a second kills it (exit 130). With --timeout the command is killed after that long (exit 124).";
  static override examples = [
    '<%= config.bin %> worker exec -it image-resize sh',
    {
      description: 'stdin without a terminal, e.g. to feed the command a file',
      command: '<%= config.bin %> worker exec -i image-resize sh -c "cat > /tmp/data.json" < data.json',
    },
    '<%= config.bin %> worker exec image-resize ls -la /app',
    '<%= config.bin %> worker exec image-resize -- sh',
    '<%= config.bin %> worker exec image-resize -- cat /tmp/env.txt',
    '<%= config.bin %> worker exec image-resize -e DEBUG=1 -w /app -- node check.js',
    '<%= config.bin %> worker exec image-resize --timeout 30s -- ./migrate',
  ];
  // The command follows the name (see exec-argv.ts), which oclif's generated synopsis cannot say.
  static override usage =
    'worker exec [-i] [-t] [-e K=V]... [-w DIR] [--timeout DUR] [-c <file>] NAME [--] COMMAND [ARG]...';
  static override strict = false;
  static override args = {
    name: Args.string({ description: 'Worker name, as in config.yaml.', required: true }),
  };
  static override flags = {
    env: Flags.string({
      char: 'e',
      description: 'Set an environment variable (K=V); repeatable.',
      multiple: true,
      multipleNonGreedy: true,
    }),
    workdir: Flags.string({ char: 'w', description: 'Working directory inside the sandbox.' }),
    interactive: Flags.boolean({
      char: 'i',
      description:
        'Pass stdin to the command (the default); -i without -t also means no terminal, as in docker exec. --no-interactive: an empty stdin.',
      allowNo: true,
    }),
    tty: Flags.boolean({
      char: 't',
      description:
        'Allocate a terminal (default: when stdin and stdout are terminals, unless -i alone is given).',
      allowNo: true,
    }),
    timeout: Flags.string({
      description: 'Kill the command after this long (30s, 5m, 1500ms) and exit 124.',
    }),
    config: configFlag,
  };

  async run(): Promise<void> {
    const split = splitCommand(this.argv);
    const { args, flags, argv } = await this.parse(WorkerExec, split.own);
    const command = split.command ?? (argv as string[]).slice(1);
    if (command.length === 0) {
      throw usageError({
        message: 'no command given',
        hint: 'Put the command after the worker name: iii worker exec -it <name> sh',
      });
    }
    const env: Record<string, string> = {};
    for (const kv of flags.env ?? []) {
      const eq = kv.indexOf('=');
      if (eq <= 0)
        throw usageError({
          message: `invalid --env "${kv}"`,
          hint: 'Give variables as K=V, e.g. -e DEBUG=1.',
        });
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    let timeoutMs: number | undefined;
    try {
      timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout, '--timeout');
    } catch (err) {
      throw usageError(err);
    }
    // -i alone asks for stdin without a terminal (docker exec -i); otherwise one when both are terminals.
    const tty =
      flags.tty ??
      (flags.interactive === true ? false : process.stdin.isTTY === true && process.stdout.isTTY === true);
    if (tty && flags.interactive === false) {
      throw usageError({
        message: 'a terminal (-t) cannot go without stdin (--no-interactive)',
        hint: 'The runtime relays the terminal as a whole: drop one of the two.',
      });
    }
    // Say what is actually wrong: a name config.yaml does not have, or no `iii` to run it at all.
    // Only the project's own `iii` counts: another project's worker of that name is not this one.
    const project = currentProject({ config: flags.config });
    const engine = await runningEngine(project);
    const { doc } = await loadConfig(project.configPath);
    if (!doc.worker(args.name)) throw new UnknownWorkerError(args.name);
    if (!engine) throw await engineNotRunning(project);
    const handle = await execInWorker(project, args.name, {
      args: command,
      env,
      tty,
      stdin: flags.interactive === false ? 'ignore' : 'inherit',
      stdout: 'inherit',
      stderr: 'inherit',
      ...(flags.workdir ? { cwd: flags.workdir } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });

    // First Ctrl-C: pass it on. A second within a second: kill, and report the interruption.
    let lastInterrupt = 0;
    let killed = false;
    const onInterrupt = () => {
      const now = Date.now();
      if (now - lastInterrupt <= 1000) {
        killed = true;
        void handle.kill('SIGKILL');
      } else {
        void handle.kill('SIGINT');
      }
      lastInterrupt = now;
    };
    const onTerminate = () => void handle.kill('SIGTERM');
    process.on('SIGINT', onInterrupt);
    process.on('SIGTERM', onTerminate);
    try {
      const result = await handle.result;
      if (result.startError) throw result.startError;
      process.exitCode = killed ? INTERRUPTED : result.exitCode;
    } finally {
      process.off('SIGINT', onInterrupt);
      process.off('SIGTERM', onTerminate);
    }
  }
}
