import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRegistryShorthand, resolveShorthand } from './worker-registry.js';

let url: string;
const seen: string[] = [];
const server = createServer((req, res) => {
  seen.push(req.url ?? '');
  const u = new URL(req.url ?? '/', 'http://x');
  const reply = (status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (u.pathname === '/download/resize') {
    return reply(200, {
      type: 'image',
      name: 'image-resize',
      version: u.searchParams.get('version'),
      image_url: 'ghcr.io/acme/resize:1',
    });
  }
  if (u.pathname === '/download/tool') return reply(200, { type: 'binary', name: 'tool' });
  if (u.pathname === '/download/broken') return reply(200, { nope: true });
  return reply(404, { error: 'not found' });
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => {
  server.close();
});

describe('registry shorthand', () => {
  it('recognises name[@version] without / or :', () => {
    expect(isRegistryShorthand('resize')).toBe(true);
    expect(isRegistryShorthand('resize@1.2.0')).toBe(true);
    expect(isRegistryShorthand('acme/resize')).toBe(false);
    expect(isRegistryShorthand('resize:1')).toBe(false);
    expect(isRegistryShorthand('./resize')).toBe(false);
    expect(isRegistryShorthand(`resize@sha256:${'a'.repeat(64)}`)).toBe(false);
  });

  it('asks for the version, or latest, and uses the registry name and image', async () => {
    expect(await resolveShorthand('resize@2.0.0', { apiUrl: url })).toEqual({
      name: 'image-resize',
      version: '2.0.0',
      image: 'ghcr.io/acme/resize:1',
    });
    await resolveShorthand('resize', { apiUrl: url });
    expect(seen).toContain('/download/resize?version=2.0.0');
    expect(seen).toContain('/download/resize?version=latest');
  });

  it('refuses other types, unknown names and malformed answers with codes', async () => {
    await expect(resolveShorthand('tool', { apiUrl: url })).rejects.toMatchObject({
      code: 'WORKER_TYPE_NOT_SUPPORTED',
      message: 'worker "tool" is of type "binary", which is not supported by container workers',
    });
    await expect(resolveShorthand('ghost', { apiUrl: url })).rejects.toMatchObject({
      code: 'WORKER_NOT_IN_REGISTRY',
    });
    await expect(resolveShorthand('broken', { apiUrl: url })).rejects.toMatchObject({
      code: 'WORKER_REGISTRY_ERROR',
    });
    await expect(resolveShorthand('x', { apiUrl: 'http://127.0.0.1:1' })).rejects.toMatchObject({
      code: 'WORKER_REGISTRY_UNREACHABLE',
    });
  });
});
