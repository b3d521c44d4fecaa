import { execFileSync } from 'node:child_process';

/** The one command that installs every system package the tests use. */
export const INSTALL_COMMAND = 'bash tools/test-env/install.sh';

/** The Debian package that provides each tool, so the error can name the exact apt-get line. */
const DEBIAN_PACKAGE: Record<string, string> = {
  'docker-registry': 'docker-registry',
  runc: 'runc',
  crun: 'crun',
  skopeo: 'skopeo',
  umoci: 'umoci',
  buildah: 'buildah',
  busybox: 'busybox-static',
  openssl: 'openssl',
  podman: 'podman',
  // util-linux's `script`: runs the CLI on a pseudo-terminal in tests about terminals.
  script: 'bsdutils',
  // setfattr marks opaque directories of layer snapshots (also needed at run time).
  setfattr: 'attr',
  // The static tini that iii runs as PID 1 of each worker's sandbox.
  'tini-static': 'tini',
};

/** Thrown when a test needs a system tool that is not installed. */
export class MissingToolError extends Error {
  readonly code = 'TEST_TOOL_MISSING';
  readonly hint: string;
  constructor(readonly missing: string[]) {
    const packages = [...new Set(missing.map((tool) => DEBIAN_PACKAGE[tool] ?? tool))];
    const hint = `Install them with \`${INSTALL_COMMAND}\` (as root), or: apt-get install -y ${packages.join(' ')}`;
    super(`Missing test tools: ${missing.join(', ')}. ${hint}`);
    this.name = 'MissingToolError';
    this.hint = hint;
  }
}

function onPath(tool: string): boolean {
  try {
    // `command -v` also finds tools in /usr/sbin (runc), which a plain PATH of a non-root user may lack.
    execFileSync('sh', ['-c', `command -v "$1" || test -x "/usr/sbin/$1"`, 'sh', tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks that every tool is installed. A missing tool throws `MissingToolError` naming the install
 * command, so the test fails instead of silently passing.
 *
 * Only when `III_TEST_ALLOW_SKIP=1` is set (a developer on a machine that cannot have the tool; CI never
 * sets it) does it return `false` instead, for use as `it.skipIf(!requireTools([...]))`.
 * Returns `true` when everything is present.
 */
export function requireTools(tools: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const missing = tools.filter((tool) => !onPath(tool));
  if (missing.length === 0) return true;
  if (env.III_TEST_ALLOW_SKIP === '1') return false;
  throw new MissingToolError(missing);
}
