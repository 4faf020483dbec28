import { Construct } from "constructs";
import { Testing } from "cdktf";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { ClusterRecord } from "../../lib/cluster-identity";
import { CLUSTER_OUTPUT, describeCluster, parseClusterRecord } from "../../lib/cluster-identity-record";
import { otherClusterRefusal } from "../../ops/vault/cluster-identity";

const A = { tokenAccessor: "auth_token_aaaa1111", clusterId: "11111111-2222-3333-4444-555555555555", clusterName: "vault-cluster-a1" };
const B = { tokenAccessor: "auth_token_bbbb2222", clusterId: "66666666-7777-8888-9999-000000000000", clusterName: "vault-cluster-b2" };

type Json = {
  data: {
    vault_generic_secret: Record<
      string,
      { path: string; with_lease_start_time: boolean; lifecycle?: { postcondition: { condition: string; error_message: string }[] } }
    >;
  };
  output: Record<string, { value: Record<string, string> }>;
};

function synth(build: (scope: Construct) => void): Json {
  return JSON.parse(
    Testing.synthScope((scope) => {
      new VaultProvider(scope, "vault", {});
      build(scope);
    }),
  ) as Json;
}

describe("ClusterRecord", () => {
  test("reads the token auth mount at plan time and records its accessor; id and name only where the engine finds the accessor they were read with", () => {
    const json = synth((s) => new ClusterRecord(s, "cluster", { known: A }));
    const [address, data] = Object.entries(json.data.vault_generic_secret)[0];
    expect(data).toMatchObject({ path: "sys/mounts/auth/token", with_lease_start_time: false });
    const accessor = `nonsensitive(data.vault_generic_secret.${address}.data["accessor"])`;
    expect(json.output[CLUSTER_OUTPUT].value).toEqual({
      tokenAccessor: `\${${accessor}}`,
      clusterId: `\${(${accessor} == "${A.tokenAccessor}") ? "${A.clusterId}" : ""}`,
      clusterName: `\${(${accessor} == "${A.tokenAccessor}") ? "${A.clusterName}" : ""}`,
    });
    expect(data.lifecycle).toBeUndefined();
  });

  test("without a known cluster the accessor alone is recorded", () => {
    const json = synth((s) => new ClusterRecord(s, "cluster"));
    expect(json.output[CLUSTER_OUTPUT].value).toMatchObject({ clusterId: "", clusterName: "" });
  });

  test("sameClusterCheck: the state's accessor must be the live one, or none (a state made before the record)", () => {
    let check: { condition: string; errorMessage: string } | undefined;
    const json = synth((s) => (check = new ClusterRecord(s, "cluster").sameClusterCheck()));
    const [address] = Object.keys(json.data.vault_generic_secret);
    expect(address).toBe("c42_cluster_token_auth");
    const live = 'nonsensitive(data.vault_generic_secret.c42_cluster_token_auth.data["accessor"])';
    expect(check!.condition).toBe(`contains(["", ${live}], try(self.outputs.c42_cluster.tokenAccessor, ""))`);
    expect(check!.errorMessage).toBe(
      'This state belongs to the Vault cluster whose token auth is ${try(self.outputs.c42_cluster.tokenAccessor, "")} ' +
        '(name "${try(self.outputs.c42_cluster.clusterName, "")}", id "${try(self.outputs.c42_cluster.clusterId, "")}"), ' +
        `but the engine talks to the cluster whose token auth is \${${live}}: ` +
        "a refresh there would drop from the state everything that server lacks, the admin key among it. " +
        "Point VAULT_ADDR (with VAULT_TOKEN and VAULT_CACERT) at the state's cluster; or, after a disaster restore into a new server, " +
        "re-bind the state to it with npm run rebind. Nothing was changed.",
    );
  });
});

describe("parseClusterRecord", () => {
  test("reads the output's value; none when the state has no record", () => {
    expect(parseClusterRecord(A)).toEqual(A);
    expect(parseClusterRecord({ tokenAccessor: "auth_token_x", clusterId: "", clusterName: "" })).toEqual({
      tokenAccessor: "auth_token_x",
      clusterId: "",
      clusterName: "",
    });
    expect(parseClusterRecord(undefined)).toBeUndefined();
  });

  test("a value that is not a record is an error naming the output", () => {
    expect(() => parseClusterRecord({ clusterId: "x" })).toThrow("output c42_cluster is not a cluster record (was the state edited by hand?)");
    expect(() => parseClusterRecord("auth_token_x")).toThrow("output c42_cluster is not a cluster record");
  });
});

describe("the refusal when VAULT_ADDR answers as another cluster", () => {
  test("one line naming both clusters and both ways on", () => {
    const refusal = otherClusterRefusal("https://b.example:8200", B, A, "/srv/state/keystore.tfstate");
    expect(refusal).toBe(
      `VAULT_ADDR=https://b.example:8200 answers as vault-cluster-b2 (id ${B.clusterId}, token auth ${B.tokenAccessor}), ` +
        `but the state /srv/state/keystore.tfstate belongs to vault-cluster-a1 (id ${A.clusterId}, token auth ${A.tokenAccessor}): ` +
        "point VAULT_ADDR (with VAULT_TOKEN and VAULT_CACERT) at that cluster; or, if this server holds a disaster restore of that keystore, " +
        "re-bind the state to it with `npm run rebind`. Nothing was changed.",
    );
    expect(refusal).not.toContain("\n");
  });

  test("none for the same cluster (the accessor binds), or a state without a record", () => {
    expect(otherClusterRefusal("https://a", { ...A, clusterId: "" }, A, "s")).toBeUndefined();
    expect(otherClusterRefusal("https://a", B, undefined, "s")).toBeUndefined();
  });

  test("a recorded cluster known by its accessor alone is named by it", () => {
    expect(describeCluster({ tokenAccessor: "auth_token_x", clusterId: "", clusterName: "" })).toBe("the cluster whose token auth is auth_token_x");
  });
});
