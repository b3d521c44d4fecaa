export * from './errors.js';
export * from './image/digest.js';
export * from './image/media-types.js';
export * from './image/schemas.js';
export type * from './image/types.js';
export * from './image/verified-stream.js';
