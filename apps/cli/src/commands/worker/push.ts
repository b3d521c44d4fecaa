import { ensureHome } from '@iii/config';
import {
  type Image,
  ImageStore,
  openImage,
  type PushProgress,
  parseImageSourceRef,
  parseReference,
  pushImage,
  type Reference,
  RegistryClient,
} from '@iii/oci';
import { builtImageSource, LocalImageNotFoundError } from '@iii/templates';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { retryLine } from '../../lib/progress.js';

export interface PushResult {
  source: string;
  reference: string;
  digest: string;
  /** What happened to each blob (layers and config). */
  blobs: { uploaded: number; existing: number; mounted: number };
}

interface LocalImage {
  image: Image;
  /** Where a pulled image came from: its blobs can be mounted when pushing to the same registry. */
  origin?: Reference;
}

/**
 * The image to push: an explicit local form (`oci-layout:`, `oci-archive:`, `docker-archive:`, a
 * path), else an image built by `iii worker build`, else one pulled into the store by `iii worker add`.
 */
async function openLocalImage(arg: string, home: { builds: string; store: string }): Promise<LocalImage> {
  const parsed = parseImageSourceRef(arg);
  if (parsed.transport !== 'registry') return { image: await openImage(parsed) };
  const built = await builtImageSource(home.builds, arg);
  if (built !== undefined) return { image: await openImage(built) };
  const store = new ImageStore(home.store);
  const stored = (await store.find(parsed.reference.toString())) ?? (await store.find(arg));
  if (stored !== undefined) return { image: stored, origin: parsed.reference };
  throw new LocalImageNotFoundError(arg);
}

export default class WorkerPush extends BaseCommand {
  static override summary = 'Push a local worker image to a registry.';
  static override description =
    'Pushes an image built by `iii worker build` (by its tag), an image pulled by `iii worker add`, or any OCI layout, OCI archive or docker archive to a registry. Blobs the registry already has are skipped, so pushing again uploads nothing new. Credentials come from `docker login` (~/.docker/config.json).';
  static override examples = [
    '<%= config.bin %> worker push greeter:0.1.0 ghcr.io/me/greeter:0.1.0',
    '<%= config.bin %> worker push oci-layout:./layout:1.0 registry.example.com/team/worker:1.0',
    '<%= config.bin %> worker push ./image.tar localhost:5000/worker:dev',
  ];
  static override enableJsonFlag = true;
  static override args = {
    image: Args.string({
      description:
        'Local image: a tag built by `iii worker build`, oci-layout:, oci-archive:, docker-archive: or a path.',
      required: true,
    }),
    ref: Args.string({ description: 'Where to push it: [registry/]repository[:tag].', required: true }),
  };
  static override flags = {
    insecure: Flags.boolean({
      description: 'Allow plain HTTP and unverified TLS to the registry.',
      default: false,
    }),
  };

  async run(): Promise<PushResult> {
    const { args, flags } = await this.parse(WorkerPush);
    const target = parseReference(args.ref);
    const paths = await ensureHome();
    const { image, origin } = await openLocalImage(args.image, paths);
    const client = new RegistryClient({
      insecure: flags.insecure,
      onRetry: (e) => process.stderr.write(`${retryLine(e)}\n`),
    });
    const abort = new AbortController();
    const onSigint = () => abort.abort(new Error('interrupted'));
    process.on('SIGINT', onSigint);
    const blobs = { uploaded: 0, existing: 0, mounted: 0 };
    const onProgress = (event: PushProgress) => {
      if (event.kind === 'manifest') return;
      const short = event.digest.slice(7, 19);
      if (event.status === 'exists') blobs.existing++;
      else if (event.status === 'mounted') blobs.mounted++;
      else if (event.status === 'done') blobs.uploaded++;
      else return;
      const what = { exists: 'already there', mounted: 'mounted', done: 'pushed' }[event.status];
      process.stderr.write(`${short}: ${event.kind} ${what}\n`);
    };
    try {
      const { digest } = await pushImage(image, target, {
        client,
        signal: abort.signal,
        onProgress,
        // A registry mounts blobs from another repository it holds instead of taking them again.
        ...(origin ? { mountFrom: [origin] } : {}),
      });
      process.stderr.write(`Pushed ${target.familiar()}@${digest}\n`);
      process.stderr.write(`Add it with: ${this.config.bin} worker add ${target.familiar()}\n`);
      return { source: args.image, reference: target.toString(), digest, blobs };
    } finally {
      process.off('SIGINT', onSigint);
      await image.close?.();
    }
  }
}
