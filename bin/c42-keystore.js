#!/usr/bin/env node
// `c42-keystore <command>`: the same commands as `npm run <command>` (bundle, deploy, demo, …).
require("ts-node").register({ project: require("path").join(__dirname, "..", "tsconfig.json") });
require("../ops/commands/cli")
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
