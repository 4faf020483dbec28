import { readFileSync } from "node:fs";
import { join } from "node:path";
import { settingsTable } from "../scripts/settings-table";

const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");

test("README's configuration table is the one the settings table generates", () => {
  const block = /<!-- settings-table:start[^>]*-->\n([\s\S]*?)\n<!-- settings-table:end -->/.exec(readme);
  expect(block).not.toBeNull();
  expect(block![1]).toBe(settingsTable());
});

test("README opens with the demo command and the test command that .ci/run runs", () => {
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1];
  expect(firstBlock).toMatch(/^npm ci && npm run demo/m);
  expect(firstBlock).toMatch(/^npm ci && npm test/m);
  const ci = readFileSync(join(__dirname, "..", ".ci", "run"), "utf8");
  expect(ci).toMatch(/^npm test$/m);
});
