import { describe, expect, it } from 'vitest';
import { validateCompose, validateKubernetesObject } from './validate-manifests.ts';

// The validators must reject what is wrong, or the export tests that rely on them prove nothing.
describe('manifest validators', () => {
  it('reject a Deployment without selector and a container without image name type', () => {
    expect(() =>
      validateKubernetesObject({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x' },
        spec: {},
      }),
    ).toThrow(/selector/);
    expect(() =>
      validateKubernetesObject({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'x' },
        spec: { ports: [{ port: 'many' }] },
      }),
    ).toThrow(/Service x/);
    expect(() => validateKubernetesObject({ apiVersion: 'v1', kind: 'Pod' })).toThrow(/unexpected/);
  });

  it('accept a valid Deployment', () => {
    validateKubernetesObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    });
  });

  it('check Compose files against the Compose specification', () => {
    expect(validateCompose({ services: { a: { image: 'x', restart: 'no' } } })).toEqual([]);
    expect(
      validateCompose({ services: { a: { image: 'x', deploy: { resources: { limits: { memory: 5 } } } } } }),
    ).not.toEqual([]);
    expect(validateCompose({ services: { a: { image: 'x', unknown: 1 } } })).not.toEqual([]);
  });
});
