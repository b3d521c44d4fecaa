// Prints the image reference of the local Node base image (the `node-build-base` fixture: the host's
// node and npm on busybox, built offline with buildah), for `iii worker build --build-arg BASE_IMAGE=<ref>`:
// the Node template runs npm install and its build inside the image, so the base needs npm too.
// A docker-archive, because buildah cannot pull an `oci:` layout from a path under a dot-directory
// such as the fixtures cache. Built once and cached; later runs print the cached archive at once.
import { nodeBuildBase } from '@iii/tools/fixtures';

const base = await nodeBuildBase();
process.stdout.write(`${base.ref}\n`);
