import { parseVersionBanner } from "../../../ops/server/kind";

describe("parseVersionBanner", () => {
  test("OpenBao's banner is the openbao kind, run as bao", () => {
    expect(parseVersionBanner("/x/bao", "OpenBao v2.4.0 (f9407a27fbee45f62ba521bba2bf1e2360c61031)\n")).toEqual({
      path: "/x/bao",
      kind: "openbao",
      version: "2.4.0",
      name: "bao",
    });
  });

  test("HashiCorp Vault's banner is the vault kind", () => {
    expect(parseVersionBanner("/x/vault", "Vault v1.14.8 (v1.14.8), built 2026-11-27T05:40:00Z\n")).toEqual({
      path: "/x/vault",
      kind: "vault",
      version: "1.14.8",
      name: "vault",
    });
  });

  test("anything else is refused, naming the binary, what it printed and what is expected", () => {
    expect(() => parseVersionBanner("/usr/bin/consul", "Consul v1.20.0\nRevision abc\n")).toThrow(
      '/usr/bin/consul version printed "Consul v1.20.0"; expected OpenBao ("OpenBao v2.4.0 …") or HashiCorp Vault ("Vault v1.14.8 …")',
    );
  });
});
