#!/usr/bin/env node
// `npx leasehold …` from the repository: the compiled CLI (npm run build).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'apps', 'cli', 'main.js');
if (!existsSync(main)) {
  console.error('leasehold: not built yet; run `npm run build` first');
  process.exit(1);
}
require(main);
