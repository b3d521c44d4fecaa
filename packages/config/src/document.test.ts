// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${VAR} placeholders.
import { describe, expect, it } from 'vitest';
import { ConfigDocument } from './document.js';
import { ConfigParseError } from './errors.js';

const MESSY = `# Workers for the photo pipeline.
# Edit freely: iii keeps comments.

engine:
  host: '127.0.0.1'    # loopback only
  port: 49134

workers:
    # resizes thumbnails
    - name: "image-resize"
      image: 'ghcr.io/iii-hq/image-resize:1.0.0'
      config:
        MY_API_KEY: \${MY_API_KEY}   # from the shell
        LOG_LEVEL:    debug


    - name: ocr   # second
      image: registry.local:5000/ocr@sha256:${'a'.repeat(64)}
      resources: { cpus: 1, memory: 1Gi }

# trailing remarks
extra_setting: yes
`;

const entry = {
  name: 'busybox',
  image: 'localhost:5000/busybox:1',
  config: { A: '1', GREETING: 'hi there' },
};

describe('ConfigDocument', () => {
  it('tells where a worker entry and its keys are written, as file:line:column', () => {
    const doc = ConfigDocument.parse(
      'workers:\n  - name: a\n    image: x:1\n  - name: b\n    image: y:1\n    config:\n      FOO: bar\n',
      'config.yaml',
    );
    expect(doc.whereIs('b')).toBe('config.yaml:4:5');
    expect(doc.whereIs('b', 'image')).toBe('config.yaml:5:12');
    expect(doc.whereIs('b', 'config')).toBe('config.yaml:7:7');
    // A key the entry does not have: the entry itself; a name not in the file: the list.
    expect(doc.whereIs('a', 'config')).toBe('config.yaml:2:5');
    expect(doc.whereIs('zz')).toBe('config.yaml:2:3');
  });

  it('adds an entry changing only the lines of the new entry', () => {
    const doc = ConfigDocument.parse(MESSY, 'config.yaml');
    const added = doc.withWorker(entry);
    const before = MESSY.split('\n');
    const after = added.text.split('\n');
    const inserted = after.length - before.length;
    expect(inserted).toBeGreaterThan(0);
    // Find the first differing line; everything before and after the inserted block is identical.
    let i = 0;
    while (before[i] === after[i]) i++;
    expect(after.slice(0, i)).toEqual(before.slice(0, i));
    expect(after.slice(i + inserted)).toEqual(before.slice(i));
    expect(after.slice(i, i + inserted).join('\n')).toBe(
      `    - name: busybox\n      image: localhost:5000/busybox:1\n      config:\n        A: "1"\n        GREETING: hi there`,
    );
    expect(added.worker('busybox')).toEqual(entry);
  });

  it('restores the file byte for byte when the added entry is removed', () => {
    const doc = ConfigDocument.parse(MESSY, 'config.yaml');
    expect(doc.withWorker(entry).withoutWorker('busybox').text).toBe(MESSY);
  });

  it('removes an entry in the middle without touching its neighbours', () => {
    const doc = ConfigDocument.parse(MESSY, 'config.yaml').withWorker(entry);
    const removed = doc.withoutWorker('ocr');
    expect(removed.workers.map((w) => w.name)).toEqual(['image-resize', 'busybox']);
    expect(removed.text).toContain("      image: 'ghcr.io/iii-hq/image-resize:1.0.0'\n");
    expect(removed.text).toContain('# trailing remarks\nextra_setting: yes\n');
    expect(removed.text).not.toContain('ocr');
  });

  it('round-trips add and remove on an empty flow list', () => {
    const text = '# mine\nworkers: []\n';
    const doc = ConfigDocument.parse(text, 'c.yaml').withWorker(entry);
    expect(doc.text.startsWith('# mine\nworkers:\n  - name: busybox\n')).toBe(true);
    expect(doc.withoutWorker('busybox').text).toBe(text);
  });

  it('round-trips on a file without a trailing newline', () => {
    const text = 'workers:\n  - name: a\n    image: x';
    const doc = ConfigDocument.parse(text, 'c.yaml').withWorker(entry);
    expect(doc.workers.map((w) => w.name)).toEqual(['a', 'busybox']);
    expect(doc.withoutWorker('busybox').text).toBe(text);
  });

  it('keeps CRLF line ends and round-trips on them', () => {
    const text = '# win\r\nworkers:\r\n  - name: a\r\n    image: x\r\n';
    const added = ConfigDocument.parse(text, 'c.yaml').withWorker(entry);
    expect(added.text).not.toMatch(/[^\r]\n/);
    expect(added.worker('busybox')).toEqual(entry);
    expect(added.withoutWorker('busybox').text).toBe(text);
    expect(added.withoutWorker('busybox').withoutWorker('a').text).toBe('# win\r\nworkers: []\r\n');
  });

  it('edits a flow-style workers list', () => {
    const text = 'workers: [{name: a, image: x}]\nengine: {port: 1}\n';
    const doc = ConfigDocument.parse(text, 'c.yaml').withWorker(entry);
    expect(doc.workers.map((w) => w.name)).toEqual(['a', 'busybox']);
    expect(doc.text.endsWith('engine: {port: 1}\n')).toBe(true);
    const replaced = doc.withReplacedWorker('a', { name: 'a', image: 'y' });
    expect(replaced.worker('a')?.image).toBe('y');
    expect(replaced.withoutWorker('a').workers.map((w) => w.name)).toEqual(['busybox']);
    const flow = ConfigDocument.parse(text, 'c.yaml');
    expect(flow.withReplacedWorker('a', { name: 'a', image: 'z' }).text).toBe(
      'workers: [ { name: a, image: z } ]\nengine: {port: 1}\n',
    );
    expect(flow.withoutWorker('a').text).toBe('workers: []\nengine: {port: 1}\n');
  });

  it('adds a workers key to a file that has none', () => {
    const text = 'engine:\n  port: 1234\n';
    const doc = ConfigDocument.parse(text, 'c.yaml').withWorker(entry);
    expect(doc.text.startsWith(text)).toBe(true);
    expect(doc.config.engine?.port).toBe(1234);
    expect(doc.worker('busybox')).toEqual(entry);
  });

  it('fills a workers key that has no value and keeps its comment', () => {
    const text = 'workers:   # none yet\nengine:\n  port: 1\n';
    const doc = ConfigDocument.parse(text, 'c.yaml').withWorker(entry);
    expect(doc.text.startsWith('workers:   # none yet\n  - name: busybox\n')).toBe(true);
    expect(doc.text.endsWith('engine:\n  port: 1\n')).toBe(true);
    expect(doc.worker('busybox')).toEqual(entry);
  });

  it('adds to a file whose list items are not indented', () => {
    const text = 'workers:\n- name: a\n  image: x\nengine: {}\n';
    const doc = ConfigDocument.parse(text, 'c.yaml').withWorker(entry);
    expect(doc.text).toContain('- name: a\n  image: x\n- name: busybox\n  image: localhost:5000/busybox:1\n');
    expect(doc.withoutWorker('busybox').text).toBe(text);
  });

  it('leaves `workers: []` after removing the only entry', () => {
    const text = 'workers:\n  - name: a\n    image: x\n';
    expect(ConfigDocument.parse(text, 'c.yaml').withoutWorker('a').text).toBe('workers: []\n');
  });

  it('replaces an entry keeping unchanged values, their comments and the rest of the file', () => {
    const doc = ConfigDocument.parse(MESSY, 'config.yaml');
    const current = doc.worker('image-resize')!;
    const replaced = doc.withReplacedWorker('image-resize', {
      ...current,
      image: 'ghcr.io/iii-hq/image-resize:2.0.0',
      config: { ...current.config, NEW_DEFAULT: 'x' },
    });
    expect(replaced.worker('image-resize')?.image).toBe('ghcr.io/iii-hq/image-resize:2.0.0');
    expect(replaced.worker('image-resize')?.config).toEqual({
      MY_API_KEY: '${MY_API_KEY}',
      LOG_LEVEL: 'debug',
      NEW_DEFAULT: 'x',
    });
    expect(replaced.text).toContain('# from the shell');
    const [head] = MESSY.split('    - name: "image-resize"');
    expect(replaced.text.startsWith(`${head}`)).toBe(true);
    expect(replaced.text).toContain(
      `    - name: ocr   # second\n      image: registry.local:5000/ocr@sha256:${'a'.repeat(64)}\n      resources: { cpus: 1, memory: 1Gi }\n\n# trailing remarks\nextra_setting: yes\n`,
    );
    expect(replaced.text.match(/# from the shell/g)).toHaveLength(1);
    expect(replaced.text.match(/# resizes thumbnails/g)).toHaveLength(1);
  });

  it('rewrites only the values a replacement changes, keeping the formatting of the others', () => {
    const text = [
      'workers:',
      '  - name: w      # the worker',
      '    image: reg/w:1',
      '    config:',
      '      SIZES: [64, 128]      # thumbnails',
      "      LOG_LEVEL: 'info'   # quoted",
      '      WIDTHS: [1, 2]   # flow',
      '      OLD: gone',
      '    resources: { cpus: 1, memory: 1Gi }',
      '# end',
      '',
    ].join('\n');
    const doc = ConfigDocument.parse(text, 'c.yaml');
    const replaced = doc.withReplacedWorker('w', {
      name: 'w',
      image: 'reg/w:2',
      config: { SIZES: [64, 128], LOG_LEVEL: 'debug', WIDTHS: [1, 3], NEW: 'x' },
      resources: { cpus: 1, memory: '1Gi' },
    });
    expect(replaced.text).toBe(
      [
        'workers:',
        '  - name: w      # the worker',
        '    image: reg/w:2',
        '    config:',
        '      SIZES: [64, 128]      # thumbnails',
        "      LOG_LEVEL: 'debug'   # quoted",
        '      WIDTHS: [1, 3]   # flow',
        '      NEW: x',
        '    resources: { cpus: 1, memory: 1Gi }',
        '# end',
        '',
      ].join('\n'),
    );
  });

  it('adds, replaces and drops nested values of a block entry', () => {
    const text = 'workers:\n  - name: w\n    image: x\n    config:\n      A: 1\n';
    const doc = ConfigDocument.parse(text, 'c.yaml');
    const more = doc.withReplacedWorker('w', {
      name: 'w',
      image: 'x',
      config: { A: { deep: [1, 2] } },
      resources: { memory: '64Mi' },
    });
    expect(more.worker('w')).toEqual({
      name: 'w',
      image: 'x',
      config: { A: { deep: [1, 2] } },
      resources: { memory: '64Mi' },
    });
    const less = more.withReplacedWorker('w', { name: 'w', image: 'x' });
    expect(less.text).toBe('workers:\n  - name: w\n    image: x\n');
  });

  it('returns the same document when a replacement changes nothing', () => {
    const doc = ConfigDocument.parse(MESSY, 'config.yaml');
    expect(doc.withReplacedWorker('ocr', doc.worker('ocr')!).text).toBe(MESSY);
  });

  it('reports malformed YAML with file, line and column', () => {
    const bad = 'workers:\n  - name: a\n    image: [unclosed\n';
    const err = catchError(() => ConfigDocument.parse(bad, '/x/config.yaml'));
    expect(err).toBeInstanceOf(ConfigParseError);
    const e = err as ConfigParseError;
    expect(e.file).toBe('/x/config.yaml');
    expect(e.line).toBeGreaterThan(0);
    expect(e.column).toBeGreaterThan(0);
    expect(e.message).toMatch(/^\/x\/config\.yaml:\d+:\d+: /);
  });

  it('refuses a YAML alias bomb with file, line and column, and accepts a few merges', () => {
    const bomb = [
      'x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]',
      'x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'workers: []',
    ].join('\n');
    const err = catchError(() => ConfigDocument.parse(bomb, '/x/config.yaml')) as ConfigParseError;
    expect(err).toBeInstanceOf(ConfigParseError);
    expect([err.line, err.column]).toEqual([3, 10]);
    expect(err.message).toMatch(/^\/x\/config\.yaml:3:10: .*alias bomb/);

    const merges =
      'x-env: &env {LOG_LEVEL: info}\nworkers:\n  - {name: a, image: x, config: {<<: *env}}\n  - {name: b, image: y, config: *env}\n';
    expect(ConfigDocument.parse(merges, 'c.yaml').worker('b')?.config).toEqual({ LOG_LEVEL: 'info' });
  });

  it('reports an alias to an unknown anchor at the alias', () => {
    const err = catchError(() =>
      ConfigDocument.parse('workers:\n  - name: a\n    image: *nowhere\n', 'c.yaml'),
    ) as ConfigParseError;
    expect(err).toBeInstanceOf(ConfigParseError);
    expect([err.line, err.column]).toEqual([3, 12]);
    expect(err.message).toContain('*nowhere');
  });

  it('reports a schema violation at the offending value', () => {
    const err = catchError(() =>
      ConfigDocument.parse(
        'workers:\n  - name: ok\n    image: a\n  - name: ../evil\n    image: b\n',
        'c.yaml',
      ),
    ) as ConfigParseError;
    expect(err.code).toBe('CONFIG_PARSE');
    expect([err.line, err.column]).toEqual([4, 11]);
    expect(err.message).toContain('invalid worker name');
  });

  it('rejects duplicate worker names', () => {
    const err = catchError(() =>
      ConfigDocument.parse('workers:\n  - {name: a, image: x}\n  - {name: a, image: y}\n', 'c.yaml'),
    ) as ConfigParseError;
    expect(err.message).toContain('duplicate worker name "a"');
    expect(err.line).toBe(3);
  });

  it('keeps unknown keys and warns about them', () => {
    const text =
      'colour: blue\nworkers:\n  - name: a\n    image: x\n    flavour: 1\n    resources: {gpus: 1}\n';
    const doc = ConfigDocument.parse(text, 'c.yaml');
    expect(doc.warnings.map((w) => w.path.join('.'))).toEqual([
      'colour',
      'workers.0.flavour',
      'workers.0.resources.gpus',
    ]);
    expect(doc.warnings[1]?.message).toContain('c.yaml:5:5');
    expect((doc.worker('a') as Record<string, unknown>).flavour).toBe(1);
    const changed = doc.withReplacedWorker('a', { ...doc.worker('a')!, image: 'y' });
    expect((changed.worker('a') as Record<string, unknown>).flavour).toBe(1);
  });

  it('refuses to add an invalid name or an existing name', () => {
    const doc = ConfigDocument.parse('workers: []\n', 'c.yaml');
    expect(() => doc.withWorker({ name: '.hidden', image: 'x' })).toThrow(/must not start with/);
    expect(() => doc.withWorker({ name: 'a..b', image: 'x' })).toThrow(/must not contain/);
    expect(() => doc.withWorker({ name: 'a/b', image: 'x' })).toThrow(/only letters/);
    const one = doc.withWorker({ name: 'a', image: 'x' });
    expect(() => one.withWorker({ name: 'a', image: 'y' })).toThrow(/already exists/);
  });

  it('says which worker is missing on remove', () => {
    expect(() => ConfigDocument.parse('workers: []\n', 'c.yaml').withoutWorker('nope')).toThrow(
      'no worker named "nope" in c.yaml',
    );
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
