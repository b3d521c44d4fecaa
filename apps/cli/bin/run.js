#!/usr/bin/env node
import { execute } from '@oclif/core';

// Bare `iii` starts the engine, like `docker compose up` for its project; every other
// invocation (including --help and --version) goes to oclif unchanged.
const args = process.argv.slice(2);
await execute({ dir: import.meta.url, args: args.length === 0 ? ['start'] : args });
