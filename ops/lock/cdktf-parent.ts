import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { processStartTicks } from "./project-lock";

/*
 * `cdktf synth|diff|deploy` run the app (cdktf.json's "app") as
 * `/bin/sh -c "node bin/cdktf-app.js"`, a child of the cdktf CLI's own node
 * process (`node …/node_modules/.bin/cdktf deploy --auto-approve`), and pass
 * it no word of which command runs it. The CLI's argv in /proc tells, so the
 * app can do what fits the command: a synth or diff writes no state, a deploy
 * gets what `npm run deploy` does before its apply.
 */

/** What the cdktf CLI will do with the JSON the app writes. */
export type CdktfCommand = "synth" | "diff" | "deploy" | "destroy" | "output" | "list" | "watch";

/** The cdktf CLI's commands that run the app, with their aliases (cdktf-cli 0.21, bundle/bin/cdktf.js). */
const COMMANDS: Readonly<Record<string, CdktfCommand>> = {
  synth: "synth",
  synthesize: "synth",
  diff: "diff",
  plan: "diff",
  deploy: "deploy",
  apply: "deploy",
  destroy: "destroy",
  output: "output",
  outputs: "output",
  list: "list",
  watch: "watch",
};

/** The cdktf CLI process that runs this app. */
export interface CdktfParent {
  readonly pid: number;
  /** Its start time in clock ticks (see processStartTicks), so the lock can tell it from a reused pid. */
  readonly startTicks?: number;
  /** The command it runs; `undefined` for one this app does not know (then treated as a deploy could be). */
  readonly command?: CdktfCommand;
}

/** A process's parent pid and argv, from /proc; undefined when it is gone or /proc is missing. */
function processInfo(pid: number): { readonly ppid: number; readonly argv: string[] } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a !== "");
    return Number.isInteger(ppid) ? { ppid, argv } : undefined;
  } catch {
    return undefined;
  }
}

/** The index of the cdktf CLI's script in a node process's argv (`…/.bin/cdktf`, `…/bin/cdktf.js`), or -1. */
function cdktfScriptAt(argv: readonly string[]): number {
  if (argv.length < 2 || !/^node(js)?$/.test(basename(argv[0]))) return -1;
  return /^cdktf(\.js)?$/.test(basename(argv[1])) ? 1 : -1;
}

/** The command in a cdktf CLI argv: the first word after the script that names one (options may come first). */
export function cdktfCommandIn(argv: readonly string[]): CdktfCommand | undefined {
  const at = cdktfScriptAt(argv);
  if (at < 0) return undefined;
  for (const word of argv.slice(at + 1)) {
    if (word.startsWith("-")) continue;
    if (word in COMMANDS) return COMMANDS[word];
  }
  return undefined;
}

/**
 * The cdktf CLI that runs this process as its app: the parent, or the
 * parent's parent when the parent is the `sh -c` cdktf starts the app with.
 * `undefined` when this process was started some other way (`node
 * bin/cdktf-app.js` by hand, a test).
 */
export function cdktfParent(pid: number = process.pid): CdktfParent | undefined {
  let parent = processInfo(pid)?.ppid;
  for (let hop = 0; hop < 2 && parent !== undefined && parent > 1; hop++) {
    const info = processInfo(parent);
    if (!info) return undefined;
    if (cdktfScriptAt(info.argv) >= 0) return { pid: parent, startTicks: processStartTicks(parent), command: cdktfCommandIn(info.argv) };
    if (!/^(ba|da)?sh$/.test(basename(info.argv[0] ?? "")) || info.argv[1] !== "-c") return undefined;
    parent = info.ppid;
  }
  return undefined;
}
