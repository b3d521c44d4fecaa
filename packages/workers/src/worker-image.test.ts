import { describe, expect, it } from 'vitest';
import { imageTarget, sameImage } from './worker-image.js';

describe('imageTarget', () => {
  it('suggests the last repository segment and keeps registry references as written', () => {
    const t = imageTarget('ghcr.io/acme/image-resize:1.0.0', '/w');
    expect(t.suggestedName).toBe('image-resize');
    expect(t.image).toBe('ghcr.io/acme/image-resize:1.0.0');
    expect(imageTarget('busybox:1', '/w').suggestedName).toBe('busybox');
  });

  it('makes local paths absolute and names them after the file or the tag’s repository', () => {
    expect(imageTarget('./out/worker.tar', '/w')).toMatchObject({
      image: '/w/out/worker.tar',
      suggestedName: 'worker',
    });
    expect(imageTarget('oci-layout:build:dev', '/w')).toMatchObject({
      image: 'oci-layout:/w/build:dev',
      suggestedName: 'build',
    });
    expect(imageTarget('docker-archive:/x/a.tar:acme/thing:2', '/w').suggestedName).toBe('thing');
  });

  it('compares registry references after normalization', () => {
    expect(sameImage('busybox', 'docker.io/library/busybox:latest', '/w')).toBe(true);
    expect(sameImage('busybox:1', 'busybox:2', '/w')).toBe(false);
    expect(sameImage('./a.tar', '/w/a.tar', '/w')).toBe(true);
  });
});
