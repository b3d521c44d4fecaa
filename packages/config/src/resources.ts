import { InvalidResourceError } from './errors.js';

const MEMORY_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1000,
  M: 1000 ** 2,
  G: 1000 ** 3,
  T: 1000 ** 4,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

const MEMORY_RE = /^(\d+(?:\.\d+)?)\s*(B|[KMGT]i?)?$/;

/**
 * Memory as written in config.yaml to bytes: a number of bytes, or a number with
 * Ki/Mi/Gi/Ti (powers of 1024) or K/M/G/T (powers of 1000), like Kubernetes quantities.
 */
export function parseMemory(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value > 0) return value;
    throw new InvalidResourceError('memory', value);
  }
  const m = MEMORY_RE.exec(value.trim());
  const unit = MEMORY_UNITS[m?.[2] ?? ''];
  if (!m || unit === undefined) throw new InvalidResourceError('memory', value);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new InvalidResourceError('memory', value);
  return bytes;
}

/** Fractional CPUs (`0.5`, `"2"`) or millicores (`"500m"`) to a number of CPUs. */
export function parseCpus(value: string | number): number {
  let cpus: number;
  if (typeof value === 'number') cpus = value;
  else {
    const text = value.trim();
    const milli = /^(\d+)m$/.exec(text);
    cpus = milli ? Number(milli[1]) / 1000 : /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  }
  if (!Number.isFinite(cpus) || cpus <= 0) throw new InvalidResourceError('cpus', value);
  return cpus;
}

/** Bytes as a short human figure with binary units (`1.5 MiB`), for messages. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n >= 100 ? 0 : 1)} ${units[i]}`;
}
