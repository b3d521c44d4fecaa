// How `iii worker add` unpacked an image before layers were kept apart: the image pulled into a
// store while it is unpacked into one merged tree (`pullAndUnpack`), in a process of its own, as
// the bench case `layers` compares. Usage: node merged-add.mjs <oci layout> <tag> <work dir>
import { join } from 'node:path';
import { ImageStore, openImage, pullAndUnpack } from '@iii/oci';

const [layout, tag, workDir] = process.argv.slice(2);
const image = await openImage(`oci-layout:${layout}:${tag}`);
try {
  await pullAndUnpack(image, new ImageStore(join(workDir, 'store')), join(workDir, 'rootfs'));
} finally {
  await image.close?.();
}
