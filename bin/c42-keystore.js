#!/usr/bin/env node
// `c42-keystore <command>`: the same commands as `npm run <command>` (bundle, deploy, demo, …), run from
// compiled JavaScript that is never older than its sources (see register.js).
require("./register").register();
require("../ops/commands/cli")
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
