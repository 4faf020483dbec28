import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment } from "../../../ops/engine/deployment";
import { EngineError } from "../../../ops/engine/engine-run";
import { StateResource } from "../../../ops/engine/state-resources";
import { deployJournalFile, readDeployJournal, writeDeployJournal } from "../../../ops/engine/deploy-journal";
import { isolatedDeployment } from "../../../ops/engine/scratch";
import { journaledApply, unrecordedParts } from "../../../ops/lifecycle/recovery";

const ALL = ["kv", "certAuth", "pki", "rootCa", "pki_int", "intermediateCa", "role", "policy", "certRole"];

describe("recovery of an interrupted deploy", () => {
  let work: string;
  let d: Deployment;
  const resource = (type: string, id?: string): StateResource => ({ address: `${type}.x`, type, id, issuerIds: [] });
  const complete = [
    resource("vault_mount", "secret"),
    resource("vault_auth_backend", "cert"),
    resource("vault_mount", "pki"),
    resource("vault_pki_secret_backend_root_cert", "pki/issuer/r"),
    resource("vault_mount", "pki_int"),
    resource("vault_pki_secret_backend_intermediate_set_signed", "pki_int/intermediate/set-signed/i"),
    resource("vault_pki_secret_backend_role", "pki_int/roles/cpRole"),
    resource("vault_policy", "crashplanPolicy"),
    resource("vault_cert_auth_backend_role", "auth/cert/certs/crashplanUser"),
  ];
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), "c42-recovery-"));
    d = isolatedDeployment(work, { VAULT_ADDR: "https://127.0.0.1:8200" });
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  describe("unrecordedParts", () => {
    test("a new state records nothing; a complete one everything", () => {
      expect(unrecordedParts(d, [], undefined)).toEqual(ALL);
      expect(unrecordedParts(d, complete, undefined)).toEqual([]);
    });

    test("objects are matched by the configured paths and names, not by type alone", () => {
      const other = isolatedDeployment(work, { VAULT_ADDR: "https://127.0.0.1:8200" }, { C42_PKI_INT_PATH: "issuing", C42_POLICY_NAME: "other" });
      expect(unrecordedParts(other, complete, undefined)).toEqual(["pki_int", "role", "policy"]);
    });

    test("adopted CAs count as recorded; with an external root there is no root part", () => {
      const noCas = complete.filter((r) => !r.type.startsWith("vault_pki_secret_backend_root") && !r.type.includes("set_signed"));
      expect(unrecordedParts(d, noCas, undefined)).toEqual(["rootCa", "intermediateCa"]);
      expect(unrecordedParts(d, noCas, { rootIssuerId: "r", intermediateIssuerId: "i" })).toEqual([]);
      const external = isolatedDeployment(work, { VAULT_ADDR: "https://127.0.0.1:8200" }, { C42_ROOT_CA_EXTERNAL: "true" });
      expect(unrecordedParts(external, [], undefined)).toEqual(ALL.filter((p) => p !== "pki" && p !== "rootCa"));
    });
  });

  describe("journaledApply", () => {
    const journal = () => readDeployJournal(deployJournalFile(d.config.stateDir));
    beforeEach(() => mkdirSync(d.config.stateDir, { recursive: true }));

    test("writes the journal before the apply and removes it after", async () => {
      let during: unknown;
      await journaledApply(d, ["kv", "pki"], async () => (during = journal()));
      expect(during).toEqual({ startedAt: expect.any(String), vaultAddr: "https://127.0.0.1:8200", creates: ["kv", "pki"] });
      expect(journal()).toBeUndefined();
    });

    test("keeps it when a signal ended the engine", async () => {
      await expect(journaledApply(d, ["pki"], () => Promise.reject(new EngineError("tofu apply was killed by SIGKILL", "SIGKILL")))).rejects.toThrow(
        "killed by SIGKILL",
      );
      expect(journal()?.creates).toEqual(["pki"]);
    });

    test("removes it when the engine ended on its own with an error, but keeps an earlier interrupted run's record", async () => {
      await expect(journaledApply(d, ["pki"], () => Promise.reject(new EngineError("tofu apply failed (exit 1)")))).rejects.toThrow("exit 1");
      expect(journal()).toBeUndefined();
      const earlier = { startedAt: "2026-11-27T05:00:00.000Z", vaultAddr: "https://127.0.0.1:8200", creates: ["kv", "rootCa"] };
      writeDeployJournal(deployJournalFile(d.config.stateDir), earlier);
      await expect(journaledApply(d, ["kv", "rootCa", "pki"], () => Promise.reject(new Error("refused")))).rejects.toThrow("refused");
      expect(journal()).toEqual(earlier);
    });

    test("writes nothing when the apply creates nothing", async () => {
      let during: unknown = "unset";
      await journaledApply(d, [], async () => (during = journal()));
      expect(during).toBeUndefined();
    });
  });
});
