import { describe, expect, it } from 'vitest';
import { InvalidReferenceError } from '../errors.js';
import { parseReference } from './reference.js';

const digest = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.20', 'docker.io/library/alpine:3.20'],
    ['library/alpine', 'docker.io/library/alpine:latest'],
    ['org/worker:1', 'docker.io/org/worker:1'],
    ['docker.io/alpine', 'docker.io/library/alpine:latest'],
    ['index.docker.io/library/alpine:1', 'docker.io/library/alpine:1'],
    ['ghcr.io/iii-hq/image-resize:1.0.0', 'ghcr.io/iii-hq/image-resize:1.0.0'],
    ['localhost/w', 'localhost/w:latest'],
    ['localhost:5000/a/b/c:v-1.2_3', 'localhost:5000/a/b/c:v-1.2_3'],
    ['127.0.0.1:5000/w', '127.0.0.1:5000/w:latest'],
    ['[::1]:5000/w:t', '[::1]:5000/w:t'],
    [`alpine@${digest}`, `docker.io/library/alpine@${digest}`],
    [`ghcr.io/o/w:1@${digest}`, `ghcr.io/o/w:1@${digest}`],
    ['my.registry/a__b/c-d/e.f:tag', 'my.registry/a__b/c-d/e.f:tag'],
  ])('normalizes %s to %s', (input, expected) => {
    expect(parseReference(input).toString()).toBe(expected);
  });

  it('round-trips through toString', () => {
    for (const input of ['alpine', `ghcr.io/o/w:1@${digest}`, 'localhost:5000/x', 'org/w:2']) {
      const ref = parseReference(input);
      expect(parseReference(ref.toString()).equals(ref)).toBe(true);
      expect(parseReference(ref.familiar()).equals(ref)).toBe(true);
    }
  });

  it('splits registry, repository, tag and digest', () => {
    const ref = parseReference(`localhost:5000/team/w:1.0@${digest}`);
    expect(ref.registry).toBe('localhost:5000');
    expect(ref.repository).toBe('team/w');
    expect(ref.tag).toBe('1.0');
    expect(ref.digest).toBe(digest);
    expect(ref.identifier).toBe(digest);
  });

  it('prints the familiar Docker form', () => {
    expect(parseReference('alpine').familiar()).toBe('alpine:latest');
    expect(parseReference('org/w:1').familiar()).toBe('org/w:1');
    expect(parseReference('ghcr.io/o/w').familiar()).toBe('ghcr.io/o/w:latest');
  });

  it('does not add latest to a digest reference', () => {
    expect(parseReference(`alpine@${digest}`).tag).toBeUndefined();
  });

  it.each([
    ['', 'empty'],
    ['Alpine', 'lowercase'],
    ['alpine:', 'not a valid tag'],
    ['alpine:-x', 'not a valid tag'],
    ['a//b', 'not a valid repository'],
    ['alpine@sha256:abc', 'not a valid digest'],
    [`alpine@sha256:${'A'.repeat(64)}`, 'lowercase hex'],
    ['ghcr.io/', 'missing repository'],
    ['foo bar', 'whitespace'],
    ['-bad.io/x', 'not a valid registry'],
    [`x/${'a'.repeat(260)}`, 'longer than'],
  ])('rejects %j with a reason', (input, reason) => {
    expect(() => parseReference(input)).toThrow(InvalidReferenceError);
    expect(() => parseReference(input)).toThrow(reason);
  });

  it('gives invalid references a code and hint', () => {
    try {
      parseReference('UPPER');
      expect.unreachable();
    } catch (err) {
      expect((err as InvalidReferenceError).code).toBe('INVALID_REFERENCE');
      expect((err as InvalidReferenceError).hint).toContain('registry');
    }
  });
});
