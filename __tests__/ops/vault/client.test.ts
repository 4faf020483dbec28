import { mkdtempSync, rmSync } from "node:fs";
import { AddressInfo, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfSignedCertificate } from "../../helpers/test-pki";
import { Server, createServer } from "node:https";
import { VaultConnectionError, endpointFromEnv, vaultCall } from "../../../ops/vault/client";
import { readErrors, readHealth, readInit, readLogin, readTune, requireSuccess } from "../../../ops/vault/readers";

jest.setTimeout(60_000);

let dir: string;
let server: Server;
let port: number;
let caPem: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "c42-vault-client-test-"));
  const made = selfSignedCertificate(dir, { cn: "localhost", days: 2, extraArgs: ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"] });
  caPem = made.certPem;
  server = createServer({ key: made.keyPem, cert: caPem }, (req, res) => {
    if (req.url === "/v1/sys/health") res.end(JSON.stringify({ initialized: true, sealed: false, standby: false }));
    else {
      res.statusCode = 403;
      res.end(JSON.stringify({ errors: ["permission denied"] }));
    }
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(dir, { recursive: true, force: true });
});

/** A port nothing listens on: one the kernel handed out and that was closed again. */
async function closedPort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((ok) => probe.listen(0, "127.0.0.1", ok));
  const free = (probe.address() as AddressInfo).port;
  await new Promise<void>((ok) => probe.close(() => ok()));
  return free;
}

describe("connection errors name the variable to fix", () => {
  test("nothing listening: VAULT_ADDR", async () => {
    const addr = `https://127.0.0.1:${await closedPort()}`;
    const error = await vaultCall({ addr, caPem }, { path: "sys/health" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(VaultConnectionError);
    expect(error).toMatchObject({ code: "ECONNREFUSED" });
    expect((error as Error).message).toMatch(new RegExp(`^cannot reach Vault at ${addr} \\(connect ECONNREFUSED .*\\): check VAULT_ADDR`));
  });

  test("an unknown host name: VAULT_ADDR", async () => {
    const error = await vaultCall({ addr: "https://vault.invalid:8200" }, { path: "sys/health" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/cannot reach Vault at https:\/\/vault\.invalid:8200 .*check VAULT_ADDR/);
  });

  test("a certificate the client does not trust: VAULT_CACERT", async () => {
    const error = await vaultCall({ addr: `https://127.0.0.1:${port}` }, { path: "sys/health" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(VaultConnectionError);
    expect((error as Error).message).toMatch(/self[- ]signed certificate .*set VAULT_CACERT to the PEM file of the CA/);
  });

  test("with the right CA the call goes through and the answer is read by its reader", async () => {
    const answer = await vaultCall({ addr: `https://127.0.0.1:${port}`, caPem }, { path: "sys/health" });
    expect(readHealth(answer)).toEqual({ initialized: true, sealed: false, standby: false });
  });

  test("permission denied: VAULT_TOKEN", async () => {
    const answer = await vaultCall({ addr: `https://127.0.0.1:${port}`, caPem }, { path: "sys/mounts", token: "not-a-token" });
    expect(answer.status).toBe(403);
    expect(() => requireSuccess(answer, "reading sys/mounts")).toThrow(/^reading sys\/mounts failed: HTTP 403 permission denied: check VAULT_TOKEN/);
  });

  test("VAULT_CACERT naming a missing file, and VAULT_ADDR unset", () => {
    expect(() => endpointFromEnv({ VAULT_ADDR: "https://x:8200", VAULT_CACERT: join(dir, "missing.pem") })).toThrow(
      /VAULT_CACERT names .*missing\.pem, which does not exist/,
    );
    expect(() => endpointFromEnv({})).toThrow(/VAULT_ADDR is not set/);
  });
});

describe("readers check the fields they use and never echo a body", () => {
  test("a wrong shape fails with the endpoint and the field", () => {
    expect(() => readHealth({ status: 200, json: { initialized: "yes" } })).toThrow("sys/health: field initialized is not a boolean");
    expect(() => readTune({ status: 200, json: { data: { default_lease_ttl: "60" } } })).toThrow("tune: field default_lease_ttl is not a number");
    expect(() => readLogin({ status: 200, json: {} })).toThrow("login answered HTTP 200 without an auth object");
    expect(() => readHealth({ status: 502, json: undefined })).toThrow("sys/health answered HTTP 502 without a JSON object");
  });

  test("sys/init: a malformed success names the field, not the secrets", () => {
    const secret = "s.ROOT-TOKEN-VALUE";
    expect(() => readInit({ status: 200, json: { keys_base64: [], root_token: secret } })).toThrow(/^sys\/init: field keys_base64 is empty$/);
    expect(readInit({ status: 200, json: { keys_base64: ["k"], root_token: secret } })).toEqual({ unsealKey: "k", rootToken: secret });
  });

  test("readErrors keeps only the errors list", () => {
    expect(readErrors({ status: 400, json: { errors: ["a", "b"], data: { secret: "x" } } })).toBe("a; b");
    expect(readErrors({ status: 500, json: { raw: "oops" } })).toBe("no error text");
  });
});
