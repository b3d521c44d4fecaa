import { describe, expect, it } from 'vitest';
import { parseImageTag } from './image-tag.js';

describe('parseImageTag', () => {
  it('splits registry, repository, name and tag', () => {
    expect(parseImageTag('ghcr.io/me/hello:0.1.0')).toEqual({
      reference: 'ghcr.io/me/hello:0.1.0',
      repository: 'ghcr.io/me/hello',
      name: 'hello',
      tag: '0.1.0',
    });
    expect(parseImageTag('localhost:5000/hello')).toMatchObject({ name: 'hello', tag: 'latest' });
    expect(parseImageTag('hello:1')).toMatchObject({ repository: 'hello', name: 'hello', tag: '1' });
  });

  it('rejects upper case, digests, empty segments and bad tags', () => {
    for (const ref of ['Hello:1', 'hello@sha256:abc', 'a//b', 'hello:', 'hello:-x']) {
      expect(() => parseImageTag(ref)).toThrow(expect.objectContaining({ code: 'INVALID_IMAGE_TAG' }));
    }
  });
});
