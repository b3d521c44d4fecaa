// The sandbox watchdog's second half: run (by the watchdog's shell) once the pipe from the owner
// closed without `disarm`, i.e. the owner died. Removes every container, runtime process and
// overlay of the state directory, then exits. Output goes to <stateDir>/watchdog.log.
import { parseArgs } from 'node:util';
import { removeLeftovers } from './leftovers.js';
import { isRunningProcess } from './process-table.js';
import { OciCliRuntime } from './runtime/oci-cli-runtime.js';
import { removeWatchdogRecord } from './watchdog-record.js';

const { values } = parseArgs({
  options: {
    'state-dir': { type: 'string' },
    runtime: { type: 'string' },
    binary: { type: 'string' },
    root: { type: 'string' },
    owner: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const stateDir = values['state-dir'];
const owner = Number(values.owner);
if (!stateDir || !values.runtime || !values.binary || !values.root || !(owner > 0)) {
  process.stderr.write('usage: reaper --state-dir D --runtime N --binary B --root R --owner PID [--keep]\n');
  process.exit(2);
}
const log = (m: string) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);

// The pipe closes while the owner's exit is under way; an owner that still runs after that
// closed it by mistake, and its workers are its own.
const end = Date.now() + 3000;
while ((await isRunningProcess(owner)) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
if (await isRunningProcess(owner)) {
  log(`owner ${owner} still runs; leaving its workers alone`);
} else {
  log(`owner ${owner} is gone: stopping the workers it ran`);
  const driver = new OciCliRuntime({
    name: values.runtime,
    binary: values.binary,
    root: values.root,
    canKeep: values.keep ?? false,
  });
  try {
    const report = await removeLeftovers({ stateDir, drivers: [driver] });
    log(`removed ${report.containers.length} container(s), ${report.mounts.length} mount(s)`);
  } catch (err) {
    log(`cleaning up failed: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
await removeWatchdogRecord(stateDir, process.pid);
