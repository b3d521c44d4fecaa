import { describe, expect, it } from 'vitest';
import { formatImageSourceRef, parseImageSourceRef } from './image-source-ref.js';

describe('parseImageSourceRef', () => {
  it.each([
    ['oci-layout:/x/dir', { transport: 'oci-layout', path: '/x/dir' }],
    ['oci-layout:/x/dir:v1', { transport: 'oci-layout', path: '/x/dir', tag: 'v1' }],
    ['oci:rel/dir:v1', { transport: 'oci-layout', path: 'rel/dir', tag: 'v1' }],
    ['oci-archive:img.tar', { transport: 'oci-archive', path: 'img.tar' }],
    ['oci-archive:img.tar:latest', { transport: 'oci-archive', path: 'img.tar', tag: 'latest' }],
    ['docker-archive:s.tar', { transport: 'docker-archive', path: 's.tar' }],
    ['docker-archive:s.tar:w:1', { transport: 'docker-archive', path: 's.tar', reference: 'w:1' }],
    ['./image', { transport: 'path', path: './image' }],
    ['/abs/image.tar', { transport: 'path', path: '/abs/image.tar' }],
    ['image.tar.gz', { transport: 'path', path: 'image.tar.gz' }],
  ])('parses %s', (input, expected) => {
    expect(parseImageSourceRef(input)).toEqual(expected);
  });

  it('treats everything else as a registry reference', () => {
    const ref = parseImageSourceRef('alpine:3');
    expect(ref.transport).toBe('registry');
    expect(formatImageSourceRef(ref)).toBe('docker.io/library/alpine:3');
    expect(formatImageSourceRef(parseImageSourceRef('docker://ghcr.io/o/w'))).toBe('ghcr.io/o/w:latest');
  });

  it('formats local forms back to their input', () => {
    for (const s of ['oci-layout:/d:t', 'oci-archive:f.tar', 'docker-archive:f.tar:w:1']) {
      expect(formatImageSourceRef(parseImageSourceRef(s))).toBe(s);
    }
  });
});
