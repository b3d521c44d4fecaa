#!/usr/bin/env node
import { createRequire } from 'node:module';

const argv = process.argv.slice(2);
const { loadExecutable } = createRequire(import.meta.url)('../dist/cli/code-cache.cjs');
await loadExecutable(argv).main(argv, import.meta.url);
