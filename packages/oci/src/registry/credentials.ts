import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { READ_ONCE } from '@iii/base';
import * as z from 'zod';
import { OciError } from '../errors.js';
import { DOCKER_HUB } from '../reference/reference.js';

/** What a registry login yields: a user and password, or a token from `docker login` / a helper. */
export type Credential =
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token (`identitytoken`), exchanged at the token endpoint. */
  | { kind: 'identity-token'; token: string }
  /** A bearer token sent to the registry as is (`registrytoken`). */
  | { kind: 'registry-token'; token: string };

/** Looks up the credential for a registry host (`docker.io`, `ghcr.io`, `localhost:5000`). */
export type CredentialProvider = (registry: string) => Promise<Credential | undefined>;

/** A `docker-credential-<name>` helper named by the Docker config failed or is missing. */
export class CredentialHelperError extends OciError {
  constructor(helper: string, detail: string, options?: { cause?: unknown }) {
    super(
      'CREDENTIAL_HELPER',
      `credential helper docker-credential-${helper} failed: ${detail}`,
      `Install docker-credential-${helper} or remove it from ~/.docker/config.json ("credsStore"/"credHelpers"), then run \`docker login\` again.`,
      options,
    );
  }
}

const dockerConfigSchema = z.object({
  auths: z
    .record(
      z.string(),
      z.object({
        auth: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        identitytoken: z.string().optional(),
        registrytoken: z.string().optional(),
      }),
    )
    .optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
});

const helperReplySchema = z.object({ Username: z.string(), Secret: z.string() });

/** Docker Hub logins are stored under this legacy key. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/** `https://host/v1/` and `host` name the same registry in a docker config. */
function configKeyHost(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//, '').split('/')[0] ?? key;
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

export type RunHelper = (program: string, args: string[], input: string) => Promise<string>;

const runHelperIn =
  (env: NodeJS.ProcessEnv): RunHelper =>
  (program, args, input) =>
    new Promise((resolve, reject) => {
      const child = execFile(
        program,
        args,
        { env, timeout: 30_000, maxBuffer: 1 << 20 },
        (err, stdout, stderr) => {
          if (err) reject(Object.assign(err, { stdout, stderr }));
          else resolve(stdout);
        },
      );
      child.stdin?.end(input);
    });

/** Where {@link dockerConfigCredentials} reads the Docker config and how it runs credential helpers. */
export interface DockerConfigOptions {
  /** The config file; default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Runs `docker-credential-<name> get` (injectable for tests). */
  runHelper?: RunHelper;
}

/**
 * Credentials the way `docker login` stores them: `auths` (base64 `auth`, or `identitytoken`),
 * `credHelpers` per registry, and `credsStore` for all, via `docker-credential-<name> get`.
 * The file is read on each lookup so a login in another terminal is picked up.
 */
export function dockerConfigCredentials(options: DockerConfigOptions = {}): CredentialProvider {
  const env = options.env ?? process.env;
  const path =
    options.configPath ?? join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
  const runHelper = options.runHelper ?? runHelperIn(env);

  const fromHelper = async (helper: string, registry: string): Promise<Credential | undefined> => {
    const serverUrl = registry === DOCKER_HUB ? DOCKER_HUB_KEY : registry;
    let out: string;
    try {
      out = await runHelper(`docker-credential-${helper}`, ['get'], serverUrl);
    } catch (err) {
      const e = err as { code?: unknown; stdout?: string };
      // Helpers answer "credentials not found" on stdout with exit 1: that is "no login", not a failure.
      if (/credentials not found/i.test(String(e.stdout ?? ''))) return undefined;
      throw new CredentialHelperError(
        helper,
        e.code === 'ENOENT' ? 'not installed' : String(e.stdout || (err as Error).message).trim(),
        { cause: err },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(out);
    } catch {
      throw new CredentialHelperError(helper, 'answered with something other than JSON');
    }
    const r = helperReplySchema.safeParse(parsed, READ_ONCE);
    if (!r.success) throw new CredentialHelperError(helper, 'answered without Username/Secret');
    if (r.data.Username === '<token>') return { kind: 'identity-token', token: r.data.Secret };
    return { kind: 'basic', username: r.data.Username, password: r.data.Secret };
  };

  return async (registry) => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new OciError(
        'DOCKER_CONFIG_INVALID',
        `${path} is not valid JSON`,
        'Fix or remove the file, then run `docker login` again.',
        { cause: err },
      );
    }
    const parsed = dockerConfigSchema.safeParse(json, READ_ONCE);
    if (!parsed.success) {
      throw new OciError(
        'DOCKER_CONFIG_INVALID',
        `${path} has an unexpected shape: ${parsed.error.issues[0]?.message}`,
        'Fix or remove the file, then run `docker login` again.',
      );
    }
    const config = parsed.data;
    const helper = Object.entries(config.credHelpers ?? {}).find(([k]) => configKeyHost(k) === registry)?.[1];
    if (helper) return fromHelper(helper, registry);
    const entry = Object.entries(config.auths ?? {}).find(([k]) => configKeyHost(k) === registry)?.[1];
    if (entry) {
      if (entry.identitytoken) return { kind: 'identity-token', token: entry.identitytoken };
      if (entry.registrytoken) return { kind: 'registry-token', token: entry.registrytoken };
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const sep = decoded.indexOf(':');
        if (sep > 0)
          return { kind: 'basic', username: decoded.slice(0, sep), password: decoded.slice(sep + 1) };
      }
      if (entry.username && entry.password) {
        return { kind: 'basic', username: entry.username, password: entry.password };
      }
    }
    if (config.credsStore) return fromHelper(config.credsStore, registry);
    return undefined;
  };
}

/** A fixed set of credentials, e.g. from CLI flags or a test. */
export function staticCredentials(map: Record<string, Credential>): CredentialProvider {
  return async (registry) => map[registry];
}
