#!/usr/bin/env node
// The `nsbox` command. This file is committed (dist/ is built) so that installing a clone of the
// repository can link the bin before the build has run; in the published package dist/ is there.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("nsbox: the package is not built (dist/cli.js is missing); in the repository, run 'npm run setup'\n");
  process.exit(70);
}
await import(cli.href);
