import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './run-command.ts';

export interface CertificatePair {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

/**
 * Makes a self-signed RSA certificate valid for 127.0.0.1 and localhost, written as `<name>.crt` and
 * `<name>.key` into `dir`. The same certificate serves as TLS server cert and as its own CA.
 */
export async function selfSignedCertificate(
  dir: string,
  name: string,
  commonName: string,
  signal?: AbortSignal,
): Promise<CertificatePair> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await runCommand(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '7',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { signal },
  );
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { certFile, keyFile, certPem, keyPem };
}
