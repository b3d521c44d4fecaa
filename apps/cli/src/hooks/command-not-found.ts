import type { Hook } from '@oclif/core';
import { closest } from '../lib/closest.js';

/**
 * The not-found plugin asks "Did you mean …?" only on an interactive terminal. Scripts and CI logs
 * deserve the suggestion too, so without a TTY we print it (the plugin still ends the run with exit 127).
 */
export const hook: Hook.CommandNotFound = async (opts) => {
  if (process.stdin.isTTY) return;
  const words = opts.id.split(':');
  const topics = opts.config.topics.filter((t) => !t.hidden).map((t) => t.name);
  const commands = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id);
  const candidates = [...new Set([...topics, ...commands])];
  // Match the whole typed id first (`worker strat` → `worker start`), then its first word alone.
  const suggestion = closest(opts.id, candidates) ?? closest(words[0] ?? '', candidates);
  if (suggestion) process.stderr.write(`Did you mean ${suggestion.replaceAll(':', ' ')}?\n`);
};

export default hook;
