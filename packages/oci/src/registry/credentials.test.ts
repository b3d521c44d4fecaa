import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialHelperError, dockerConfigCredentials } from './credentials.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oci-creds-'));
  // A real credential helper program on PATH, as `docker login` would use.
  await writeFile(
    join(dir, 'docker-credential-fake'),
    `#!/bin/sh
read server
case "$server" in
  helper.example) echo '{"ServerURL":"helper.example","Username":"hu","Secret":"hs"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"x","Username":"<token>","Secret":"refresh"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
  );
  await chmod(join(dir, 'docker-credential-fake'), 0o755);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function provider(config: object) {
  const configDir = await mkdtemp(join(dir, 'cfg-'));
  await writeFile(join(configDir, 'config.json'), JSON.stringify(config));
  return dockerConfigCredentials({ env: { DOCKER_CONFIG: configDir, PATH: `${dir}:${process.env.PATH}` } });
}

describe('dockerConfigCredentials', () => {
  it('decodes auths entries, matching keys with scheme and path', async () => {
    const get = await provider({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('me:pw:with:colons').toString('base64') },
        'localhost:5000': { auth: Buffer.from('a:b').toString('base64') },
        'https://ghcr.io': { identitytoken: 'idt' },
      },
    });
    expect(await get('docker.io')).toEqual({ kind: 'basic', username: 'me', password: 'pw:with:colons' });
    expect(await get('localhost:5000')).toEqual({ kind: 'basic', username: 'a', password: 'b' });
    expect(await get('ghcr.io')).toEqual({ kind: 'identity-token', token: 'idt' });
    expect(await get('quay.io')).toBeUndefined();
  });

  it('asks credHelpers and credsStore programs', async () => {
    const get = await provider({ credHelpers: { 'helper.example': 'fake' }, credsStore: 'fake' });
    expect(await get('helper.example')).toEqual({ kind: 'basic', username: 'hu', password: 'hs' });
    expect(await get('docker.io')).toEqual({ kind: 'identity-token', token: 'refresh' });
    expect(await get('other.example')).toBeUndefined();
  });

  it('reports a missing helper program with a hint', async () => {
    const get = await provider({ credsStore: 'missing-helper' });
    await expect(get('x.example')).rejects.toBeInstanceOf(CredentialHelperError);
  });

  it('returns nothing when there is no config file', async () => {
    const get = dockerConfigCredentials({ env: { DOCKER_CONFIG: join(dir, 'nope') } });
    expect(await get('docker.io')).toBeUndefined();
  });
});
