// Prints the image reference of the local Node base image (the `node-base` fixture: the host's node
// on busybox, built offline with buildah), for `iii worker build --build-arg BASE_IMAGE=<ref>`.
// A docker-archive, because buildah cannot pull an `oci:` layout from a path under a dot-directory
// such as the fixtures cache. Built once and cached; later runs print the cached archive at once.
import { dockerArchive } from '@iii/tools/fixtures';

const base = await dockerArchive('node-base');
process.stdout.write(`${base.ref}\n`);
