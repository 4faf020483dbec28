import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment } from "../../../ops/engine/deployment";
import { StateResource, stateResources } from "../../../ops/engine/state-resources";
import { isolatedDeployment } from "../../../ops/engine/scratch";
import { PlanJson } from "../../../ops/engine/plan-json";
import { caStepsInPlan, caStepsToCreate } from "../../../ops/lifecycle/issuer-guard";

/*
 * Which CA steps an apply would run: the issuer guard (issue 16) asks Vault
 * about exactly these mounts. The question to Vault is answered in the
 * interrupted-deploy integration test.
 */
describe("the CA steps an apply would run", () => {
  let work: string;
  const synthesized = (settings: Record<string, string> = {}): Deployment => {
    const d = isolatedDeployment(work, { VAULT_ADDR: "https://127.0.0.1:1" }, settings);
    d.synth();
    return d;
  };
  const recorded = (...addresses: string[]): StateResource[] => addresses.map((address) => ({ address, type: address.split(".")[0], issuerIds: [] }));
  beforeEach(() => (work = mkdtempSync(join(tmpdir(), "c42-guard-"))));
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  test("a cold deploy makes the root on pki and the intermediate on pki_int (custom paths followed)", () => {
    const d = synthesized({ C42_PKI_PATH: "root-ca", C42_PKI_INT_PATH: "issuing" });
    const steps = caStepsToCreate(d, []);
    expect(steps.map((s) => [s.address.split(".")[0], s.mount, s.makes])).toEqual([
      ["vault_pki_secret_backend_intermediate_cert_request", "issuing", "intermediate"],
      ["vault_pki_secret_backend_intermediate_set_signed", "issuing", "intermediate"],
      ["vault_pki_secret_backend_root_cert", "root-ca", "root"],
    ]);
  });

  test("steps the state records are not run again; the others are", () => {
    const d = synthesized();
    const all = caStepsToCreate(d, []).map((s) => s.address);
    const root = all.find((a) => a.startsWith("vault_pki_secret_backend_root_cert.")) as string;
    expect(caStepsToCreate(d, recorded(...all))).toEqual([]);
    expect(caStepsToCreate(d, recorded(...all.filter((a) => a !== root)))).toEqual([{ address: root, mount: "pki", makes: "root" }]);
  });

  test("with an external root there is no root step", () => {
    const d = synthesized({ C42_ROOT_CA_EXTERNAL: "true" });
    expect(caStepsToCreate(d, []).map((s) => s.makes)).toEqual(["intermediate"]);
  });

  test("a saved plan: creates and replacements count, updates and deletions do not", () => {
    const d = synthesized();
    const change = (type: string, actions: string[]) => ({ address: `${type}.x`, type, name: "x", change: { actions, before: null, after: null } });
    const plan: PlanJson = {
      resource_changes: [
        change("vault_pki_secret_backend_root_cert", ["no-op"]),
        change("vault_pki_secret_backend_intermediate_cert_request", ["delete", "create"]),
        change("vault_pki_secret_backend_intermediate_set_signed", ["create"]),
        change("vault_pki_secret_backend_role", ["create"]),
        change("vault_pki_secret_backend_config_urls", ["update"]),
      ],
    };
    expect(caStepsInPlan(d, plan)).toEqual([
      { address: "vault_pki_secret_backend_intermediate_cert_request.x", mount: "pki_int", makes: "intermediate", replaces: true },
      { address: "vault_pki_secret_backend_intermediate_set_signed.x", mount: "pki_int", makes: "intermediate", replaces: false },
    ]);
  });
});

describe("stateResources", () => {
  test("keeps managed resources with their address, type, id and issuer ids, and nothing else", () => {
    const pulled = [
      { mode: "data", type: "vault_pki_secret_backend_issuers", name: "d", instances: [{ attributes: { id: "x" } }] },
      { mode: "managed", type: "vault_mount", name: "pki_mount_1", instances: [{ attributes: { id: "pki", path: "pki" } }] },
      {
        mode: "managed",
        type: "vault_pki_secret_backend_root_cert",
        name: "root_1",
        instances: [{ attributes: { id: "pki/issuer/r1", issuer_id: "r1", private_key: "SECRET" } }],
      },
      { mode: "managed", type: "vault_pki_secret_backend_intermediate_set_signed", name: "s", instances: [{ attributes: { imported_issuers: ["i1", "r1"] } }] },
      { mode: "managed", type: "vault_policy", name: "p", instances: [] },
    ];
    expect(stateResources(pulled)).toEqual([
      { address: "vault_mount.pki_mount_1", type: "vault_mount", id: "pki", issuerIds: [] },
      { address: "vault_pki_secret_backend_root_cert.root_1", type: "vault_pki_secret_backend_root_cert", id: "pki/issuer/r1", issuerIds: ["r1"] },
      {
        address: "vault_pki_secret_backend_intermediate_set_signed.s",
        type: "vault_pki_secret_backend_intermediate_set_signed",
        id: undefined,
        issuerIds: ["i1", "r1"],
      },
      { address: "vault_policy.p", type: "vault_policy", id: undefined, issuerIds: [] },
    ]);
    expect(JSON.stringify(stateResources(pulled))).not.toContain("SECRET");
    expect(stateResources(undefined)).toEqual([]);
  });
});
