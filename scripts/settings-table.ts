// Prints the configuration table of README.md from lib/settings.ts's SCHEMA,
// the one place settings are defined. A unit test keeps README in step.
import { SETTINGS } from "../lib/settings";

export function settingsTable(): string {
  const rows = SETTINGS.map(({ key, env, setting }) => {
    const d = setting.defaultValue;
    const def = typeof d === "function" ? "see description" : Array.isArray(d) ? "`[]`" : d === "" ? "(none)" : `\`${String(d)}\``;
    return `| \`${key}\` | \`${env}\` | ${def} | ${setting.doc} |`;
  });
  return ["| setting (config file) | environment | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

if (require.main === module) process.stdout.write(settingsTable() + "\n");
