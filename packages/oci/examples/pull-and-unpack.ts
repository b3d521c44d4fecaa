// Pull an image into a store, print what it is, and unpack it: what `iii worker add` does, from any tool.
// Usage: node --import tsx examples/pull-and-unpack.ts <image> <state-dir> [os/arch]
import { ImageStore, openImage, parsePlatform, RegistryClient, unpackImage } from '@iii/oci';

const [input, stateDir, platform] = process.argv.slice(2);
if (!input || !stateDir) {
  console.error('usage: pull-and-unpack <image> <state-dir> [os/arch]');
  process.exit(2);
}

const client = new RegistryClient();
const store = new ImageStore(`${stateDir}/store`);
try {
  const image = await openImage(input, {
    client,
    ...(platform ? { platform: parsePlatform(platform) } : {}),
  });
  const stored = await store.pull(image, {
    onProgress: (e) => console.error(`${e.kind} ${e.digest.slice(7, 19)} ${e.status} ${e.done}/${e.total}`),
  });
  await image.close?.();
  const config = await stored.config();
  const { rootfs } = await unpackImage(stored, `${stateDir}/rootfs`);
  console.log(
    JSON.stringify({
      digest: stored.digest,
      index: stored.index?.digest,
      platform: stored.platform,
      env: config.config?.Env ?? [],
      cmd: [...(config.config?.Entrypoint ?? []), ...(config.config?.Cmd ?? [])],
      rootfs,
    }),
  );
} catch (err) {
  const e = err as { message: string; hint?: string };
  console.error(`Error: ${e.message}${e.hint ? `\n${e.hint}` : ''}`);
  process.exitCode = 1;
} finally {
  client.close();
}
