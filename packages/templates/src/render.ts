import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { setArgDefault } from './base-images.js';
import { DirectoryNotEmptyError, InvalidSdkVersionError, NotADirectoryError } from './errors.js';
import { parseTemplateLanguage, type TemplateLanguage } from './language.js';
import { fillPlaceholders } from './placeholders.js';
import { templateDir } from './template-dir.js';
import { cratePackageName, npmPackageName, validateWorkerName } from './worker-name.js';

/** Options of {@link render}: the language, the worker name, the directory and the SDK version. */
export interface RenderOptions {
  /** `node`, `python` or `rust`. */
  lang: TemplateLanguage | string;
  /** The worker name; the function it registers is `<name>::hello`. */
  name: string;
  /** The project directory: created if missing, refused if not empty. */
  dir: string;
  /**
   * The `@iii/sdk` dependency written into a Node project's package.json: an npm version range
   * (default `latest`) or any npm spec, such as `file:./iii-sdk-0.1.0.tgz`.
   */
  sdkVersion?: string;
  /**
   * The JSON Schema of worker.yaml: when given, iii.worker.yaml starts with a
   * `# yaml-language-server: $schema=<url>` line, so editors check and complete it.
   */
  workerSchemaUrl?: string;
  /**
   * Base images to write into the Dockerfile instead of the template's, by ARG name, e.g.
   * `{ BASE_IMAGE: 'registry.example.com/node:20-slim' }`; an ARG the template lacks is ignored.
   */
  baseImages?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
}

/** What {@link render} wrote: language, name, the function it registers, the directory and its files. */
export interface RenderResult {
  lang: TemplateLanguage;
  name: string;
  /** The function the worker registers, `<name>::hello`. */
  functionId: string;
  /** Absolute path of the project directory. */
  dir: string;
  /** The files written, relative to `dir`, with `/` separators, sorted. */
  files: string[];
}

/** Scaffolds a worker project from a language's template into an empty (or new) directory. */
export async function render(options: RenderOptions): Promise<RenderResult> {
  const lang = parseTemplateLanguage(options.lang);
  validateWorkerName(options.name);
  const sdkVersion = options.sdkVersion ?? 'latest';
  // It lands inside a JSON string of package.json: no quotes, backslashes or control characters.
  if (!/^[^"\\\u0000-\u001f]+$/.test(sdkVersion)) throw new InvalidSdkVersionError(sdkVersion);
  const dir = resolve(options.dir);
  await ensureEmptyDirectory(dir);

  const functionId = `${options.name}::hello`;
  const values = {
    name: options.name,
    functionId,
    npmName: npmPackageName(options.name),
    crateName: cratePackageName(options.name),
    sdkVersion,
  };

  const source = templateDir(lang);
  const files: string[] = [];
  for (const file of await listFiles(source)) {
    options.signal?.throwIfAborted();
    const target = outputPath(file);
    const text = await readFile(join(source, file), 'utf8');
    let content = fillPlaceholders(text, values, `${lang}/${file}`);
    if (target === 'iii.worker.yaml' && options.workerSchemaUrl) {
      content = `# yaml-language-server: $schema=${options.workerSchemaUrl}\n${content}`;
    }
    if (target === 'Dockerfile') {
      for (const [arg, image] of Object.entries(options.baseImages ?? {})) {
        content = setArgDefault(content, arg, image);
      }
    }
    await mkdir(dirname(join(dir, target)), { recursive: true });
    // `wx`: never overwrite, even if something appeared in the directory since the check.
    await writeFile(join(dir, target), content, { flag: 'wx' });
    files.push(target);
  }
  return { lang, name: options.name, functionId, dir, files: files.sort() };
}

async function ensureEmptyDirectory(dir: string): Promise<void> {
  const info = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (info === undefined) {
    await mkdir(dir, { recursive: true });
    return;
  }
  if (!info.isDirectory()) throw new NotADirectoryError(dir);
  if ((await readdir(dir)).length > 0) throw new DirectoryNotEmptyError(dir);
}

/** Template files relative to `root`, with `/` separators. */
async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

/**
 * Template names differ from project names where packaging would get in the way: dotfiles are
 * stored as `_name` (npm drops some dotfiles such as .gitignore from packages) and manifests as
 * `<name>.tmpl` (so tools never mistake a template for a real project).
 */
function outputPath(file: string): string {
  return file
    .split('/')
    .map((part) => (part.startsWith('_') ? `.${part.slice(1)}` : part))
    .join('/')
    .replace(/\.tmpl$/, '');
}
