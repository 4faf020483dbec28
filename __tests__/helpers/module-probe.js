"use strict";
// A preload (`node -r __tests__/helpers/module-probe.js bin/c42-keystore.js drift`) that records which modules the
// process loaded and how long loading them took, for the tests and measurements of issue 26 ("a drift or a no-op
// deploy loads neither cdktf nor the stack"). It writes JSON to the file MODULE_PROBE_FILE names, at exit, as a
// new 0600 file (never over an existing one), and changes nothing else: no output, the same exit code.
//   { "modules": [absolute paths, in load order], "loadMs": time inside top-level require calls, "uptimeMs": at exit }
// The variable is not a C42_* one on purpose: those are part of the synth cache's key.
const { writeFileSync } = require("node:fs");
const Module = require("node:module");
const { performance } = require("node:perf_hooks");

const file = process.env.MODULE_PROBE_FILE;
if (file) {
  const originalLoad = Module._load;
  let depth = 0;
  let loadMs = 0;
  // Module._load is what every require goes through; only the outermost call is timed, so nested loads count once.
  Module._load = function probedLoad(...args) {
    const started = depth === 0 ? performance.now() : 0;
    depth++;
    try {
      return originalLoad.apply(this, args);
    } finally {
      depth--;
      if (depth === 0) loadMs += performance.now() - started;
    }
  };
  process.on("exit", () => {
    const report = { modules: Object.keys(require.cache), loadMs: Math.round(loadMs), uptimeMs: Math.round(process.uptime() * 1000) };
    writeFileSync(file, JSON.stringify(report), { mode: 0o600, flag: "wx" });
  });
}
