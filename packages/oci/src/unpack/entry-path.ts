import { UnsafeEntryError } from './errors.js';

/**
 * Splits a tar entry name into path components relative to the rootfs. A leading './' is what
 * `tar -C dir .` writes and is dropped; an absolute path or any '..' component is refused rather than
 * clamped, because no standard image builder writes one. Returns [] for the root itself.
 */
export function entryPathComponents(name: string, layer?: string): string[] {
  if (name.startsWith('/')) throw new UnsafeEntryError('absolute-path', name, layer);
  const parts = name.split('/');
  // Most names have nothing to drop: their parts are the components (no second array per entry).
  if (!parts.some((part) => part === '' || part === '.' || part === '..')) return parts;
  const components: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new UnsafeEntryError('parent-traversal', name, layer);
    components.push(part);
  }
  return components;
}
