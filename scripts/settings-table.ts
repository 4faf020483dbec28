// Prints the configuration table of README.md from lib/config.ts's SETTINGS,
// the one place settings are defined. A unit test keeps README in step.
import { SETTINGS } from "../lib/config";

export function settingsTable(): string {
  const rows = SETTINGS.map((s) => {
    const def = typeof s.default === "function" ? "see description" : s.kind === "list" ? "`[]`" : s.default === "" ? "(none)" : `\`${String(s.default)}\``;
    return `| \`${s.key}\` | \`${s.env}\` | ${def} | ${s.doc} |`;
  });
  return ["| setting (config file) | environment | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

if (require.main === module) process.stdout.write(settingsTable() + "\n");
