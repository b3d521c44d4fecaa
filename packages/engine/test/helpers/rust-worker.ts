import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testCacheDir } from '@iii/tools/fixtures';
import { requireTools, runCommand } from '@iii/tools/test-env';

const manifest = fileURLToPath(new URL('../fixtures/rust-worker/Cargo.toml', import.meta.url));

/**
 * Builds the fixture worker written with the official Rust `iii-sdk` crate and returns its binary.
 * cargo's target dir is cached outside the clone (`<testCacheDir>/cargo-target`), so only the first run
 * on a machine compiles the SDK's dependencies; cargo locks the dir against concurrent builds itself.
 */
export async function buildRustWorker(signal?: AbortSignal): Promise<string> {
  requireTools(['cargo']);
  const target = join(testCacheDir(), 'cargo-target');
  await runCommand('cargo', ['build', '--locked', '--quiet', '--manifest-path', manifest], {
    env: { ...process.env, CARGO_TARGET_DIR: target },
    signal,
  });
  return join(target, 'debug', 'rust-worker');
}
