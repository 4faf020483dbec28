import { diagnosticsText, readUiMessages, reportsDrift } from "../../../ops/engine/plan-json";

// Lines as `tofu plan -json` writes them (OpenTofu 1.10), trimmed to the fields that matter.
const line = (message: object) => JSON.stringify({ "@level": "info", "@message": "…", ...message });

describe("the engine's machine-readable plan stream", () => {
  test("reads one message a line and skips what is not a JSON object", () => {
    const stdout = [line({ type: "version" }), "", "plain text", "[1,2]", "{not json", line({ type: "change_summary" })].join("\n");
    expect(readUiMessages(stdout).map((m) => m.type)).toEqual(["version", "change_summary"]);
  });

  test("an in-sync plan reports nothing: summaries, refreshes and reads", () => {
    const messages = readUiMessages(
      [
        line({ type: "version" }),
        line({ type: "refresh_start" }),
        line({ type: "refresh_complete" }),
        line({ type: "planned_change", change: { action: "read", resource: { addr: "data.vault_pki_secret_backend_issuers.x" } } }),
        line({ type: "change_summary", changes: { add: 0, change: 0, remove: 0, operation: "plan" } }),
      ].join("\n"),
    );
    expect(messages.some(reportsDrift)).toBe(false);
  });

  test.each(["create", "update", "delete", "replace", "move"])("a planned %s is reported", (action) => {
    expect(reportsDrift({ type: "planned_change", change: { action } })).toBe(true);
  });

  test("a resource changed outside the engine is reported, even with no change planned", () => {
    expect(reportsDrift({ type: "resource_drift", change: { action: "update" } })).toBe(true);
  });

  test("errors and warnings read as the engine prints them, with the address", () => {
    const text = diagnosticsText([
      { type: "version" },
      { type: "diagnostic", diagnostic: { severity: "warning", summary: "Deprecated attribute", detail: "Use another." } },
      {
        type: "diagnostic",
        diagnostic: { severity: "error", summary: "Error acquiring the state lock", detail: "Lock Info:\n  ID: 1234", address: "vault_mount.kv" },
      },
    ]);
    expect(text).toBe(
      "Warning: Deprecated attribute\n\nUse another.\n\nError: Error acquiring the state lock\n\n  with vault_mount.kv\n\nLock Info:\n  ID: 1234\n",
    );
  });
});
