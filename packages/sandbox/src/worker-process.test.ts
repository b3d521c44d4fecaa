import { describe, expect, it } from 'vitest';
import { buildSpec } from './spec.js';
import {
  buildArgv,
  DEFAULT_PATH,
  dialableEngineUrl,
  workerAddress,
  workerProcess,
} from './worker-process.js';

const ENGINE = 'ws://127.0.0.1:50112';
const IMAGE_DEFAULT = 'ws://localhost:49134';

function envMap(env: string[]): Record<string, string> {
  return Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

describe('buildArgv', () => {
  it('concatenates ENTRYPOINT and CMD', () => {
    expect(buildArgv({ config: { Entrypoint: ['/bin/w', '-v'], Cmd: ['serve'] } }, 'ws://e:1')).toEqual([
      '/bin/w',
      '-v',
      'serve',
    ]);
  });

  it('replaces --url=value forms and leaves a trailing --url alone', () => {
    expect(buildArgv({ config: { Cmd: ['/w', '--url=ws://old', '--url'] } }, 'ws://new')).toEqual([
      '/w',
      '--url=ws://new',
      '--url',
    ]);
  });

  it('treats null ENTRYPOINT or CMD as empty', () => {
    expect(buildArgv({ config: { Entrypoint: null, Cmd: ['/a'] } }, 'x')).toEqual(['/a']);
  });
});

describe('workerAddress: the engine address rule', () => {
  const image = { config: { Env: [`III_URL=${IMAGE_DEFAULT}`, 'GREETING=hi'] } };

  it("gives the engine's address when config.yaml holds the image's default III_URL", () => {
    const a = workerAddress(image, { name: 'w', config: { III_URL: IMAGE_DEFAULT } }, ENGINE);
    expect(a).toEqual({
      url: ENGINE,
      rule: 'engine',
      key: 'III_URL',
      reason: "the engine's address (III_URL in config.yaml is the image's default)",
    });
  });

  it("gives the engine's address when config.yaml sets neither variable", () => {
    const a = workerAddress(image, { name: 'w', config: { GREETING: 'hi' } }, ENGINE);
    expect(a.url).toBe(ENGINE);
    expect(a.rule).toBe('engine');
    expect(a.key).toBeUndefined();
    expect(a.reason).toContain('sets no III_ENGINE_URL or III_URL');
  });

  it("lets a value the user changed win over the image's default", () => {
    const a = workerAddress(image, { name: 'w', config: { III_URL: 'ws://gateway:7000' } }, ENGINE);
    expect(a).toMatchObject({ url: 'ws://gateway:7000', rule: 'config', key: 'III_URL' });
    expect(a.reason).toBe("the user's value of III_URL in config.yaml (differs from the image's default)");
  });

  it('lets a value win when the image has no default for that key', () => {
    const a = workerAddress({}, { name: 'w', config: { III_URL: IMAGE_DEFAULT } }, ENGINE);
    expect(a).toMatchObject({ url: IMAGE_DEFAULT, rule: 'config', key: 'III_URL' });
    expect(a.reason).toContain('the image sets no default for it');
  });

  it("prefers the user's III_ENGINE_URL, and a changed III_ENGINE_URL beats III_URL left at its default", () => {
    const both = { config: { Env: [`III_URL=${IMAGE_DEFAULT}`, `III_ENGINE_URL=${IMAGE_DEFAULT}`] } };
    expect(
      workerAddress(both, { name: 'w', config: { III_ENGINE_URL: 'ws://a:1', III_URL: 'ws://b:2' } }, ENGINE),
    ).toMatchObject({ url: 'ws://a:1', key: 'III_ENGINE_URL' });
    expect(
      workerAddress(
        both,
        { name: 'w', config: { III_ENGINE_URL: IMAGE_DEFAULT, III_URL: 'ws://b:2' } },
        ENGINE,
      ),
    ).toMatchObject({ url: 'ws://b:2', rule: 'config', key: 'III_URL' });
    expect(
      workerAddress(
        both,
        { name: 'w', config: { III_ENGINE_URL: IMAGE_DEFAULT, III_URL: IMAGE_DEFAULT } },
        ENGINE,
      ),
    ).toMatchObject({ url: ENGINE, rule: 'engine', key: 'III_ENGINE_URL' });
  });

  it('treats an empty value as unset', () => {
    expect(workerAddress(image, { name: 'w', config: { III_URL: '' } }, ENGINE).url).toBe(ENGINE);
  });

  it('dials a wildcard listen address on loopback', () => {
    expect(dialableEngineUrl('ws://0.0.0.0:5')).toBe('ws://127.0.0.1:5');
    expect(dialableEngineUrl('ws://[::]:5')).toBe('ws://[::1]:5');
    expect(workerAddress({}, { name: 'w' }, 'ws://0.0.0.0:9').url).toBe('ws://127.0.0.1:9');
  });
});

describe('workerProcess', () => {
  const rustStyle = {
    config: {
      Env: ['PATH=/img/bin', 'A=image', 'B=image', `III_URL=${IMAGE_DEFAULT}`],
      Entrypoint: ['/usr/local/bin/worker'],
      Cmd: ['--url', IMAGE_DEFAULT],
    },
  };

  it("patches argv --url and both variables with the engine's address when config.yaml keeps the default", () => {
    const p = workerProcess({
      imageConfig: rustStyle,
      worker: { name: 'w1', config: { III_URL: IMAGE_DEFAULT, B: 'config', C: 'config' } },
      engineUrl: ENGINE,
    });
    expect(p.argv).toEqual(['/usr/local/bin/worker', '--url', ENGINE]);
    expect(envMap(p.env)).toMatchObject({
      PATH: '/img/bin',
      A: 'image',
      B: 'config',
      C: 'config',
      III_ENGINE_URL: ENGINE,
      III_URL: ENGINE,
    });
    // The III_* variables come last, in the documented order.
    expect(p.env.slice(-3)).toEqual(['III_WORKER_NAME=w1', `III_ENGINE_URL=${ENGINE}`, `III_URL=${ENGINE}`]);
    expect(p.address.rule).toBe('engine');
  });

  it("puts the user's value in argv --url and both variables", () => {
    const p = workerProcess({
      imageConfig: rustStyle,
      worker: { name: 'w', config: { III_URL: 'ws://gateway:7000' } },
      engineUrl: ENGINE,
    });
    expect(p.argv).toEqual(['/usr/local/bin/worker', '--url', 'ws://gateway:7000']);
    expect(envMap(p.env)).toMatchObject({
      III_ENGINE_URL: 'ws://gateway:7000',
      III_URL: 'ws://gateway:7000',
    });
  });

  it('never lets config.yaml set III_WORKER_NAME', () => {
    const p = workerProcess({
      imageConfig: {},
      worker: { name: 'w', config: { III_WORKER_NAME: 'x' } },
      engineUrl: ENGINE,
    });
    expect(envMap(p.env).III_WORKER_NAME).toBe('w');
  });

  it('sets PATH, HOSTNAME, HOME and OTEL_SERVICE_NAME defaults that the image and config.yaml can override', () => {
    const bare = envMap(
      workerProcess({ imageConfig: {}, worker: { name: 'w' }, engineUrl: ENGINE, home: '/root' }).env,
    );
    expect(`PATH=${bare.PATH}`).toBe(DEFAULT_PATH);
    expect(bare).toMatchObject({ HOSTNAME: 'w', HOME: '/root', OTEL_SERVICE_NAME: 'w' });
    const set = envMap(
      workerProcess({
        imageConfig: { config: { Env: ['HOME=/app', 'OTEL_SERVICE_NAME=image'] } },
        worker: { name: 'w', config: { OTEL_SERVICE_NAME: 'mine' } },
        engineUrl: ENGINE,
      }).env,
    );
    expect(set).toMatchObject({ HOME: '/app', OTEL_SERVICE_NAME: 'mine' });
  });

  it('keeps values containing "=" intact', () => {
    expect(
      workerProcess({ imageConfig: { config: { Env: ['Q=a=b'] } }, worker: { name: 'w' }, engineUrl: ENGINE })
        .env,
    ).toContain('Q=a=b');
  });

  it('is what the runtime spec runs', () => {
    const worker = { name: 'w', config: { III_URL: IMAGE_DEFAULT } };
    const passwd = 'root:x:0:0:root:/root:/bin/sh\n';
    const spec = buildSpec({
      imageConfig: rustStyle,
      worker,
      engineUrl: ENGINE,
      rootfs: '/r',
      hostsFile: '/h',
      resolvFile: '/c',
      passwd,
    });
    const p = workerProcess({ imageConfig: rustStyle, worker, engineUrl: ENGINE, home: '/root' });
    expect(spec.process.args).toEqual(p.argv);
    expect(spec.process.env).toEqual(p.env);
  });
});
