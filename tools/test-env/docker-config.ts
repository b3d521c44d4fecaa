import type { TestRegistry } from './registry.ts';

/**
 * The `~/.docker/config.json` that `docker login` would write for these registries
 * (`{"auths": {"127.0.0.1:PORT": {"auth": base64("user:password")}}}`), for tests of credential lookup.
 * Registries without an account are left out.
 */
export function dockerConfigJson(
  registries: readonly Pick<TestRegistry, 'host' | 'username' | 'password'>[],
): {
  auths: Record<string, { auth: string }>;
} {
  const auths: Record<string, { auth: string }> = {};
  for (const registry of registries) {
    if (!registry.username) continue;
    auths[registry.host] = {
      auth: Buffer.from(`${registry.username}:${registry.password ?? ''}`).toString('base64'),
    };
  }
  return { auths };
}
