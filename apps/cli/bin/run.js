#!/usr/bin/env node
// CommonJS (bin/package.json says so): an ES module entry starts Node's ES module loader first,
// ~2 ms of every command; everything below is CommonJS anyway.
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const argv = process.argv.slice(2);
const { loadExecutable } = require('../dist/cli/code-cache.cjs');
// oclif finds the package from here: the nearest package.json above this directory's is bin's own.
loadExecutable(argv).main(argv, pathToFileURL(join(__dirname, '..', 'package.json')).href);
