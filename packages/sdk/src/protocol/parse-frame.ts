import type { Frame } from './frames.js';

/**
 * Parses one text frame. Returns `undefined` for anything that is not a JSON object with a string `type`,
 * because both ends ignore malformed frames instead of failing the connection. Field shapes are checked by
 * the handler of each type; unknown fields are kept and ignored.
 */
export function parseFrame(text: string): (Frame & Record<string, unknown>) | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if (typeof (value as { type?: unknown }).type !== 'string') return undefined;
  return value as Frame & Record<string, unknown>;
}
