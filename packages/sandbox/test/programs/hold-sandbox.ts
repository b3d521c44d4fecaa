// Run by watchdog.test.ts as its own process (node --import tsx): opens a sandbox on argv[2], starts
// a worker from the rootfs argv[3] that sleeps, prints `ready <worker pid> <watchdog pid>`, then
// waits to be killed, never closing the sandbox.
import { Sandbox } from '../../src/index.js';

const [stateDir, imageRootfs] = process.argv.slice(2) as [string, string];
const sandbox = await Sandbox.open({ stateDir, runtime: 'runc', strictRuntime: true });
const worker = await sandbox.start({
  name: 'held',
  imageRootfs,
  imageConfig: { config: { Cmd: ['sh', '-c', 'exec sleep 100000'] } },
  engineUrl: 'ws://127.0.0.1:49134',
  restart: 'never',
});
while (worker.state().status !== 'running') await new Promise((r) => setTimeout(r, 20));
process.stdout.write(`ready ${worker.state().pid} ${sandbox.watchdogPid}\n`);
setInterval(() => {}, 1 << 30);
