import { iiiPaths, type LockProblem, loadConfig, resolveConfigPath, verifyLock } from '@iii/config';
import { ImageStore } from '@iii/oci';
import { imagePresent } from '@iii/workers';
import { BaseCommand } from '../../base-command.js';
import { note } from '../../lib/note.js';
import { currentProject, rememberUse } from '../../lib/project.js';
import { configFlag } from '../../lib/worker-flags.js';

interface VerifyResult {
  ok: boolean;
  /** Each problem with the command that fixes it. */
  problems: (LockProblem & { fix: string })[];
}

/** The command that fixes a problem (each was tried: it makes `verify` pass for that worker). */
function fixFor(p: LockProblem): string {
  switch (p.kind) {
    case 'not-locked':
    case 'image-changed':
      return `iii worker update ${p.worker}`;
    case 'missing-image':
      return 'iii worker sync';
    case 'not-in-config':
      // Commented out or deleted by hand: drop the pin, or put the entry back (or `enabled: false`).
      return `iii worker remove ${p.worker} -y`;
  }
}

export default class WorkerVerify extends BaseCommand {
  static override summary = 'Check that config.yaml, iii.lock and the local image cache agree.';
  static override description =
    'Exits non-zero when a worker has no pin, a pin has no worker, a pin is for another image than config.yaml names, or a pinned image is not fully present locally.';
  static override examples = ['<%= config.bin %> worker verify', '<%= config.bin %> worker verify --json'];
  static override enableJsonFlag = true;
  static override flags = { config: configFlag };

  async run(): Promise<VerifyResult> {
    const { flags } = await this.parse(WorkerVerify);
    const configPath = resolveConfigPath({ flag: flags.config });
    const { doc, lock } = await loadConfig(configPath);
    await rememberUse(currentProject({ config: flags.config }));
    const paths = iiiPaths();
    const store = new ImageStore(paths.store);
    const problems = (
      await verifyLock(doc.workers, lock, {
        hasImage: (_name, pin) => imagePresent(store, paths.rootfs, pin.digest, paths.snapshots),
      })
    ).map((p) => ({ ...p, fix: fixFor(p) }));
    if (problems.length === 0) {
      note(`OK: ${doc.workers.length} worker(s) pinned and present.`);
      return { ok: true, problems };
    }
    if (!this.jsonEnabled()) {
      for (const p of problems) {
        const extra =
          p.kind === 'not-in-config'
            ? ' (or put the worker back in config.yaml; `enabled: false` keeps an entry without running it)'
            : '';
        process.stderr.write(`  ${p.message}: fix with \`${p.fix}\`${extra}\n`);
      }
    }
    process.exitCode = 1;
    if (this.jsonEnabled()) return { ok: false, problems };
    throw Object.assign(
      new Error(`config.yaml and iii.lock do not agree (${problems.length} problem(s) above)`),
      {
        code: 'VERIFY_FAILED',
        hint: 'Run the command given for each problem above.',
      },
    );
  }
}
