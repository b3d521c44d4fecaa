import type { Image, Layer } from '../image/types.js';

/** What unpacking needs of a layer: its descriptor and its blob stream. Any source's `Layer` fits. */
export type UnpackLayer = Pick<Layer, 'descriptor' | 'open'>;

/** What unpacking needs of an image: its manifest digest (the cache key) and its layers. */
export type UnpackImage = Pick<Image, 'digest' | 'layers'>;
