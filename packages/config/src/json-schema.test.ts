import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigDocument } from './document.js';
import { CONFIG_SCHEMA_URL, configJsonSchema, WORKER_SCHEMA_URL, workerJsonSchema } from './json-schema.js';

const shipped = (file: string) =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../schema/${file}`, import.meta.url)), 'utf8'));
const { version } = JSON.parse(
  readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'),
);

describe('the JSON Schemas shipped in @iii/config', () => {
  it('are the ones generated from the zod schemas (run `npm run schemas` after changing those)', () => {
    expect(shipped('config.schema.json')).toEqual(configJsonSchema());
    expect(shipped('worker.schema.json')).toEqual(workerJsonSchema());
  });

  it('describe config.yaml: known keys, their types, and unknown keys marked as iii warns about them', () => {
    const schema = configJsonSchema() as {
      additionalProperties: boolean;
      properties: { workers: { anyOf: [{ items: { required: string[]; additionalProperties: boolean } }] } };
    };
    expect(schema.additionalProperties).toBe(false);
    const worker = schema.properties.workers.anyOf[0].items;
    expect(worker.required).toEqual(['name', 'image']);
    expect(worker.additionalProperties).toBe(false);
    expect(JSON.stringify(schema)).toContain('"on-failure"');
  });

  it('leave the top of worker.yaml open (an image may say more) but check its resources', () => {
    const schema = workerJsonSchema() as {
      additionalProperties: unknown;
      properties: { resources: { anyOf: [{ additionalProperties: boolean }] } };
    };
    expect(schema.additionalProperties).not.toBe(false);
    expect(schema.properties.resources.anyOf[0].additionalProperties).toBe(false);
  });

  it('are named by URLs of this release, and a new config.yaml points at its schema', () => {
    expect(CONFIG_SCHEMA_URL).toBe(`https://unpkg.com/@iii/config@${version}/schema/config.schema.json`);
    expect(WORKER_SCHEMA_URL).toBe(`https://unpkg.com/@iii/config@${version}/schema/worker.schema.json`);
    expect(ConfigDocument.empty('c.yaml').text).toBe(
      `# yaml-language-server: $schema=${CONFIG_SCHEMA_URL}\nworkers: []\n`,
    );
  });
});
