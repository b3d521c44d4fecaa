import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/** Options of {@link watchConfig}. */
export interface WatchConfigOptions {
  /** Quiet time after the last event before `onChange` runs. Default 200 ms. */
  debounceMs?: number;
  /** Where a watch that cannot be set up or fails is reported. */
  report?: (message: string) => void;
}

/** A running watch; `close()` ends it (a pending change is dropped). */
export interface ConfigWatch {
  close(): void;
}

/**
 * Calls `onChange` when config.yaml or its iii.lock changes. The directory is watched, not the
 * files: editors that save by writing a new file and renaming it over the old one replace the file's
 * inode, which a watch on the file itself would lose. Bursts of events (an editor's temp file and
 * rename, ten saves in a row, `iii worker add` writing both files) are one call, made once the
 * directory has been quiet for `debounceMs`; calls never overlap (a change during one runs after it).
 */
export function watchConfig(
  configPath: string,
  onChange: () => Promise<unknown>,
  options: WatchConfigOptions = {},
): ConfigWatch {
  // iii.lock always lives beside config.yaml.
  const names = new Set([basename(configPath), 'iii.lock']);
  const debounceMs = options.debounceMs ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let again = false;
  let closed = false;
  const fire = () => {
    timer = undefined;
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = onChange()
      .catch((err) => options.report?.(`reloading config.yaml failed: ${(err as Error).message}`))
      .finally(() => {
        running = undefined;
        if (again && !closed) {
          again = false;
          schedule();
        }
      });
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(fire, debounceMs);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(configPath), { persistent: false }, (_event, file) => {
      // Some platforms give no name: any change in the directory may be ours.
      if (file === null || names.has(file.toString())) schedule();
    });
    watcher.on('error', (err) => options.report?.(`watching ${configPath} stopped: ${err.message}`));
  } catch (err) {
    options.report?.(
      `cannot watch ${configPath} (${(err as Error).message}); run \`iii reload\` after editing it`,
    );
  }
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}
