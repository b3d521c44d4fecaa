// What `iii worker add` and the engine's start do, from any tool: resolve what the user typed, install
// it, pin it, locate the runnable image, plan the worker's process, and ask what a prune may delete.
// Usage: node --import tsx examples/add-and-plan.ts <image or name[@version]> <state-dir>
import { ConfigDocument, emptyLockFile, flattenConfig, renderLockFile } from '@iii/config';
import { ImageStore, RegistryClient } from '@iii/oci';
import {
  type InstallProgress,
  loadWorkerImage,
  lockedDigests,
  planWorkerProcess,
  pullWorkerImage,
  resolveTarget,
  sameImage,
  unreferencedCache,
  upsertWorkerImage,
} from '@iii/workers';

const [input, stateDir] = process.argv.slice(2);
if (!input || !stateDir) {
  console.error('usage: add-and-plan <image or name[@version]> <state-dir>');
  process.exit(2);
}

const cwd = process.cwd();
const paths = { store: `${stateDir}/store`, rootfs: `${stateDir}/rootfs` };
const store = new ImageStore(paths.store);
const client = new RegistryClient();
const progress: InstallProgress = {
  message: (text) => console.error(text),
  update: (u) => console.error(`${u.id.slice(7, 19)} ${u.state}`),
  finish: () => {},
};
try {
  // 1. Resolve: an iii registry shorthand ($III_API_URL), an OCI reference or a local image.
  const target = await resolveTarget(input, { apiUrl: process.env.III_API_URL, cwd });
  // 2. Install: pull what the store lacks, unpack, read the image's `config:` defaults.
  const installed = await pullWorkerImage(target.source, {
    client,
    store,
    rootfsDir: paths.rootfs,
    progress,
    image: target.image,
  });
  // 3. Pin: the config.yaml entry and the iii.lock pin `iii worker add` would write.
  const name = target.suggestedName;
  const { doc, lock } = upsertWorkerImage({
    doc: ConfigDocument.empty(`${stateDir}/config.yaml`),
    lock: emptyLockFile(),
    name,
    image: target.image,
    pin: {
      digest: installed.digest,
      ...(installed.index ? { index: installed.index } : {}),
      platform: installed.platform,
    },
    defaults: installed.defaults,
    resources: installed.resources,
    force: false,
    sameImage: (a, b) => sameImage(a, b, cwd),
  });
  // 4. Locate: the pinned image, from the local store only (what the engine does at start).
  const entry = doc.worker(name)!;
  const image = await loadWorkerImage(paths, name, lock.workers[name]!.digest);
  // 5. Plan: argv and environment (image env < config: < the engine address), as it will run.
  const planned = await planWorkerProcess({
    imageConfig: image.config,
    imageRootfs: image.rootfs,
    name,
    config: flattenConfig(entry.config, { env: process.env, worker: name }),
    engineUrl: 'ws://127.0.0.1:49134',
  });
  // 6. Prune: nothing, while the lock pins the only image.
  const unused = await unreferencedCache(store, paths.rootfs, lockedDigests(lock));
  console.log(
    JSON.stringify({
      name,
      digest: image.digest,
      rootfs: image.rootfs,
      config: entry.config ?? {},
      lock: renderLockFile(lock),
      argv: planned.argv,
      env: planned.env,
      address: planned.address,
      prunableBytes: unused.bytes,
    }),
  );
} catch (err) {
  const e = err as { message: string; hint?: string };
  console.error(`Error: ${e.message}${e.hint ? `\n${e.hint}` : ''}`);
  process.exitCode = 1;
} finally {
  client.close();
}
