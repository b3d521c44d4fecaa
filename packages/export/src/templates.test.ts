// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${VAR} placeholders.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { composeTemplate } from './compose.js';
import { kubernetesResources, shellWord } from './kubernetes.js';

const sh = (word: string, env: Record<string, string>) =>
  execFileSync('sh', ['-c', `printf '%s' ${word}`], { env: { PATH: process.env.PATH, ...env } }).toString();

describe('shellWord', () => {
  it('gives the shell the value iii would give the worker', () => {
    expect(sh(shellWord('postgres://app:${S}@db/x'), { S: 'p"a$s`s\\' })).toBe(
      'postgres://app:p"a$s`s\\@db/x',
    );
    expect(sh(shellWord('${L:debug $$1}'), {})).toBe('debug $1');
    expect(sh(shellWord('${L:debug}'), { L: '' })).toBe('');
    expect(sh(shellWord('5$$ "quoted" `tick` \\'), {})).toBe('5$ "quoted" `tick` \\');
    expect(() => sh(shellWord('${UNSET_IN_TEST}'), {})).toThrow();
  });
});

describe('composeTemplate', () => {
  it("writes config.yaml's interpolation in Compose's", () => {
    expect(composeTemplate('a:${S}')).toBe('a:${S?set S, as config.yaml requires}');
    expect(composeTemplate('${L:x$$y}')).toBe('${L-x$$y}');
    expect(composeTemplate('5$$ $${NOT}')).toBe('5$$ $${NOT}');
  });
});

describe('kubernetesResources', () => {
  it('writes cpus in millicores and memory as Kubernetes quantities', () => {
    expect(kubernetesResources({ cpus: 0.5, memory: 256 * 1024 * 1024 })).toEqual({
      limits: { cpu: '500m', memory: '256Mi' },
      requests: { cpu: '500m', memory: '256Mi' },
    });
    expect(kubernetesResources({ memory: 1000 })?.limits).toEqual({ memory: '1000' });
    expect(kubernetesResources({ memory: 2048 })?.limits).toEqual({ memory: '2Ki' });
    expect(kubernetesResources({})).toBeUndefined();
  });
});
