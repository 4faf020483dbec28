// Benchmark, not a test: reports how long `synth` takes and how much memory it
// needs (median of several runs). Nothing here fails on a slow machine.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);
const root = resolve(__dirname, "..");

// The child synthesizes in-process (type-checking and compiling the stack with
// ts-node, as `cdktf synth` does) and reports that time and its peak RSS.
const child = `
require("ts-node").register();
const t1 = process.hrtime.bigint();
require(${JSON.stringify(join(root, "main.ts"))});
const t2 = process.hrtime.bigint();
process.stdout.write(JSON.stringify({ synthMs: Number(t2 - t1) / 1e6, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const samples: { wallMs: number; synthMs: number; maxRssMb: number }[] = [];
for (let i = 0; i < runs; i++) {
  const outdir = mkdtempSync(join(tmpdir(), "c42-bench-"));
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ["-e", child], {
    cwd: root,
    env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1" },
    encoding: "utf8",
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  rmSync(outdir, { recursive: true, force: true });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  const m = JSON.parse(r.stdout);
  samples.push({ wallMs, synthMs: m.synthMs, maxRssMb: m.maxRssMb });
  process.stderr.write(`run ${i + 1}/${runs}: wall ${wallMs.toFixed(0)} ms, synth ${m.synthMs.toFixed(0)} ms, peak RSS ${m.maxRssMb.toFixed(0)} MB\n`);
}
const report = {
  runs,
  medianWallMs: Math.round(median(samples.map((s) => s.wallMs))),
  medianSynthMs: Math.round(median(samples.map((s) => s.synthMs))),
  medianPeakRssMb: Math.round(median(samples.map((s) => s.maxRssMb))),
  node: process.version,
};
process.stdout.write(JSON.stringify(report, null, 2) + "\n");
