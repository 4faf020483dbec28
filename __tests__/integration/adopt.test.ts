import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADOPTION_OUTPUT, loadConfig, parseAdoptionRecord, renderPolicy } from "../../lib";
import { P12_FILE, PASSWORD_FILE } from "../../ops/bundle/bundle";
import { adoptMain } from "../../ops/commands/adopt";
import { bundleMain } from "../../ops/commands/bundle";
import { driftMain } from "../../ops/commands/drift";
import { rotateMain } from "../../ops/commands/rotate";
import { statusMain } from "../../ops/commands/status";
import { Deployment } from "../../ops/engine/deployment";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { loadToolchain } from "../../ops/engine/toolchain";
import { deploy } from "../../ops/lifecycle/deploy";
import { rotationView } from "../../ops/lifecycle/rotation";
import { StatusReport } from "../../ops/lifecycle/status";
import { RECIPE_FILES, buildKeystoreByHand } from "../../scripts/manual-recipe";
import { capture } from "../helpers/io";
import { TestDeployment, TestServer, ok, startTestServer, testDeployment } from "./fixtures";
import { Bundle, LoopCounts, readBundle, startLoginLoop } from "./login-clients";

// A keystore built with Code42's recipe in the bao CLI (and crashplan.p12 made
// with openssl pkcs12 -export, the password from a file) is taken over by
// `adopt --yes`: same CAs, same issuers, the hand-made p12 logging in before,
// during and after; then a rotation moves Code42 to a managed certificate.

const POLICY = "crashplanpolicy";
/** The plan adopt makes of the recipe's keystore: every mount, both URL sets, the role and the policy imported; the cert role written again. */
const ADOPT_PLAN = "Plan: 8 to import, 1 to add, 7 to change, 0 to destroy.";
/** crashplanPolicy as configured; the test adds a grant by hand, as an administrator might have. */
const CONFIGURED_POLICY = renderPolicy(["pki/issue/*", "sys/policy/*", "auth/cert/certs/*"]);
const HAND_EDIT = 'path "secret/*" {\n  capabilities = ["read"]\n}\n';

describe("adopt a keystore built by hand with Code42's recipe (real OpenBao, real OpenTofu)", () => {
  let server: TestServer;
  let td: TestDeployment;
  let recipeDir: string;
  let hand: Bundle;
  let handSerial: string;
  let before: { pki: Issuer[]; pki_int: Issuer[] };
  const loops: { stop(): Promise<LoopCounts> }[] = [];

  interface Issuer {
    readonly id: string;
    readonly serial: string;
    readonly hasKey: boolean;
  }
  const issuers = async (mount: string): Promise<Issuer[]> => {
    const ids = ((await server.call({ method: "LIST", path: `${mount}/issuers` })).json.data.keys as string[]).slice().sort();
    return Promise.all(
      ids.map(async (id) => {
        const d = (await server.call({ path: `${mount}/issuer/${id}` })).json.data;
        return { id, serial: new X509Certificate(d.certificate).serialNumber, hasKey: d.key_id !== "" };
      }),
    );
  };
  const caState = async () => ({ pki: await issuers("pki"), pki_int: await issuers("pki_int") });

  const fresh = (): Deployment => isolatedDeployment(td.work, server.env);
  type Main = (argv: readonly string[], make: () => Deployment, io: ReturnType<typeof capture>["io"]) => Promise<number>;
  const run = async (main: Main, argv: string[] = []) => {
    const { out, io } = capture();
    const code = await main(argv, fresh, io);
    return { code, ...out };
  };
  const adoptWith = (answer: boolean, interactive: boolean, asked: string[]): Main => {
    return (argv, make, io) => adoptMain(argv, make, io, { interactive, ask: async (text) => (asked.push(text), answer) });
  };
  const login = async (b: Bundle) => {
    const answer = await server.call({ method: "PUT", path: "auth/cert/login", token: undefined, pfx: b });
    if (answer.status === 200) await server.call({ method: "PUT", path: "auth/token/revoke-self", token: answer.json.auth.client_token });
    return { status: answer.status, policies: (answer.json?.auth?.token_policies ?? []) as string[] };
  };
  const stateList = async () => (await fresh().tofu(["state", "list"], { quiet: true })).stdout.trim();
  const noSecrets = (text: string) => {
    expect(text).not.toContain("PRIVATE KEY");
    expect(text.includes(hand.passphrase)).toBe(false);
    expect(text.includes(server.env.VAULT_TOKEN)).toBe(false);
  };
  const inSync = async () => {
    const drift = await run(driftMain);
    expect(drift.stdout).toBe("in sync: Vault matches the configuration\n");
    expect(drift.code).toBe(0);
  };
  const expectClean = (counts: LoopCounts) => {
    process.stderr.write(`adopt: ${counts.name}: ${counts.ok} ok, ${counts.failed} failed of ${counts.attempts} in ${counts.seconds} s\n`);
    expect(counts.failures).toEqual([]);
    expect(counts.failed).toBe(0);
    expect(counts.ok).toBe(counts.attempts);
    expect(counts.attempts).toBeGreaterThan(0);
  };
  const stopLoop = (loop: { stop(): Promise<LoopCounts> }) => {
    loops.splice(loops.indexOf(loop), 1);
    return loop.stop();
  };

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server);
    // mkdtemp makes it 0700; the recipe writes its key files 0600 inside.
    recipeDir = mkdtempSync(join(tmpdir(), "c42-recipe-"));
    const seed = loadConfig({ env: {}, cwd: recipeDir });
    // As in the article, the CRL URLs name another port than the issuing URLs.
    const crlBaseUrl = server.env.VAULT_ADDR.replace(/:(\d+)$/, ":8201");
    await buildKeystoreByHand({ bao: loadToolchain().bao, vaultEnv: server.env, dir: recipeDir, seed, crlBaseUrl });
    ok(await server.call({ method: "PUT", path: "sys/policies/acl/crashplanPolicy", body: { policy: `${CONFIGURED_POLICY}\n${HAND_EDIT}` } }));
    hand = readBundle(recipeDir, RECIPE_FILES.p12, RECIPE_FILES.password);
    handSerial = new X509Certificate((await server.call({ path: "auth/cert/certs/crashplanUser" })).json.data.certificate).serialNumber;
    before = await caState();
  });

  afterAll(async () => {
    await Promise.all(loops.splice(0).map((l) => l.stop()));
    if (recipeDir) rmSync(recipeDir, { recursive: true, force: true });
    td?.cleanup();
    await server?.stop();
  });

  test("the hand-built keystore: one root with its key on pki, the intermediate (with its key) and the root's chain copy on pki_int; the p12 logs in", async () => {
    expect(before.pki.map((i) => i.hasKey)).toEqual([true]);
    expect(before.pki_int.filter((i) => i.hasKey)).toHaveLength(1);
    expect(before.pki_int).toHaveLength(2);
    expect(await login(hand)).toEqual({ status: 200, policies: [POLICY, "default"] });
  });

  test("a PKI mount that is not the recipe's (another organisation's root, a role, a server certificate) is a blocker; --yes changes nothing; --take-over-pki lifts it", async () => {
    // Issue 28: adopt --yes took over an unrelated pki/ mount, signed pki_int with its root and rewrote its URLs.
    ok(await server.call({ method: "POST", path: "sys/mounts/corp-pki", body: { type: "pki", config: { max_lease_ttl: "87600h" } } }));
    try {
      ok(await server.call({ method: "POST", path: "corp-pki/root/generate/internal", body: { common_name: "Corp Unrelated Root", ttl: "8760h" } }));
      ok(await server.call({ method: "POST", path: "corp-pki/roles/web", body: { allow_any_name: true, max_ttl: "24h" } }));
      const web = new X509Certificate(
        (await server.call({ method: "POST", path: "corp-pki/issue/web", body: { common_name: "www.corp.example" } })).json.data.certificate,
      );
      ok(await server.call({ method: "POST", path: "pki_int/roles/web", body: { allow_any_name: true, max_ttl: "24h" } }));
      const urls = (await server.call({ path: "corp-pki/config/urls" })).json.data;
      const corp = (): Deployment => isolatedDeployment(td.work, server.env, { C42_PKI_PATH: "corp-pki" });
      const adoptCorp = async (argv: string[]) => {
        const { out, io } = capture();
        const code = await adoptMain(argv, corp, io, { interactive: false, ask: async () => false });
        return { code, ...out };
      };
      const configuredRoot = corp().config.rootCa.commonName;

      const inspect = await adoptCorp(["--inspect"]);
      expect(inspect.code).toBe(1);
      const blocker = (line: string) =>
        `  ${line}. Adopting it would sign with it and rewrite its URLs: check pki.path and pki_int.path, or pass --take-over-pki if this mount is the keystore's\n`;
      expect(inspect.stdout).toContain(
        blocker(
          `pki.path: corp-pki/ does not look like the recipe's root mount: its root CA is "Corp Unrelated Root" (subject CN=Corp Unrelated Root), not rootCa.commonName "${configuredRoot}"; ` +
            `it holds role(s) web, and the recipe makes none on the root mount; it issued certificate(s) the recipe does not make: ${colon(web.serialNumber)} CN=www.corp.example`,
        ),
      );
      expect(inspect.stdout).toContain(blocker("pki_int.path: pki_int/ holds role(s) the recipe does not make (web; it makes cpRole only)"));
      expect(inspect.stderr).toBe("adopt: cannot adopt this server as it is (see above). Nothing was changed\n");

      const yes = await adoptCorp(["--yes"]);
      expect(yes.code).toBe(1);
      expect(yes.stderr).toBe("adopt: cannot adopt this server as it is (see above). Nothing was changed\n");
      expect(existsSync(join(td.work, "state"))).toBe(false);
      expect((await server.call({ path: "corp-pki/config/urls" })).json.data).toEqual(urls);
      expect(await caState()).toEqual(before);

      // Said to be the keystore's, the mounts are no longer blockers (the intermediate, signed by another root, still is).
      const taken = await adoptCorp(["--inspect", "--take-over-pki"]);
      expect(taken.stdout).toContain('does not look like the recipe\'s root mount: its root CA is "Corp Unrelated Root"');
      expect(taken.stdout).toContain("(web; it makes cpRole only): taken over all the same, as --take-over-pki asks");
      expect(taken.stdout).not.toContain("or pass --take-over-pki if this mount is the keystore's");
    } finally {
      ok(await server.call({ method: "DELETE", path: "sys/mounts/corp-pki" }));
      ok(await server.call({ method: "DELETE", path: "pki_int/roles/web" }));
    }
  });

  test("--inspect reports what it takes over, leaves alone, the article's CRL port and a hand-added policy grant as behaviour changes; nothing is written", async () => {
    const r = await run(adoptWith(false, false, []), ["--inspect"]);
    expect(r.code).toBe(0);
    const root = before.pki[0];
    expect(r.stdout).toMatch(new RegExp(`rootCa +pki/ issuer ${root.id} found: use as it is \\(serial ${colon(root.serial)}\\); never generated again`));
    expect(r.stdout).toMatch(/role +pki_int\/roles\/cpRole +found: import\n/);
    expect(r.stdout).toMatch(/policy +sys\/policies\/acl\/crashplanPolicy +found: import\n/);
    expect(r.stdout).toContain(`found: keep (serial ${colon(handSerial)}`);
    expect(r.stdout).toContain("pki_int issuer");
    expect(r.stdout).toContain("a chain certificate without a key): not the default issuer\n");
    expect(r.stdout).toContain("  the secrets in secret/ (archive keys Code42 wrote): never read or changed\n");
    for (const mount of ["pki", "pki_int"]) {
      expect(r.stdout).toContain(
        `  CHANGES BEHAVIOUR  publicUrl (${mount} crl_distribution_points): Vault has https://127.0.0.1:8201/v1/${mount}/crl; configured ${server.env.VAULT_ADDR}/v1/${mount}/crl; rewritten to the configured value when you confirm the plan`,
      );
    }
    expect(r.stdout).toContain(
      "  CHANGES BEHAVIOUR  policy.name (crashplanPolicy text): Vault has - secret/* read; configured 3 paths with create, read, update, delete, list; rewritten to the configured value when you confirm the plan\n",
    );
    // Same TTLs, flags and login role as configured: those are not reported.
    expect(r.stdout.match(/CHANGES BEHAVIOUR/g)).toHaveLength(3);
    expect(r.stderr).toBe("");
    noSecrets(r.stdout);
    expect(existsSync(join(td.work, "state"))).toBe(false);
  });

  test("declined at the prompt: the plan was shown, nothing was imported or changed", async () => {
    const asked: string[] = [];
    const r = await run(adoptWith(false, true, asked), []);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("adopt: declined. Nothing was changed\n");
    expect(asked).toHaveLength(1);
    expect(asked[0].startsWith(`${ADOPT_PLAN}\n`)).toBe(true);
    expect(asked[0]).toMatch(/ {2}change {3}vault_pki_secret_backend_config_urls\.pki_urls_\w+: crl_distribution_points\n/);
    expect(asked[0]).toMatch(/ {2}change {3}vault_policy\.policy_\w+: policy\n/);
    expect((await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy).toContain(HAND_EDIT);
    expect(await stateList()).toBe("");
    expect((await server.call({ path: "pki/config/urls" })).json.data.crl_distribution_points).toEqual(["https://127.0.0.1:8201/v1/pki/crl"]);
  });

  test("adopt --yes: the hand-made p12 logs in before, during and after; same CAs and issuers; drift in sync; a following deploy changes nothing", async () => {
    const loop = startLoginLoop(server, "hand-made p12 during adopt", hand, POLICY);
    loops.push(loop);
    const r = await run(adoptWith(false, false, []), ["--yes"]);
    expectClean(await stopLoop(loop));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`\n${ADOPT_PLAN}\n`);
    expect(r.stdout).toContain(
      `adopted: root CA ${colon(before.pki[0].serial)} and intermediate ${colon(before.pki_int.find((i) => i.hasKey)?.serial ?? "")} used as they are; ` +
        `admin certificate ${colon(handSerial)} kept (your crashplan.p12 keeps logging in)`,
    );
    noSecrets(r.stdout + r.stderr);

    expect(await caState()).toEqual(before);
    expect(await login(hand)).toEqual({ status: 200, policies: [POLICY, "default"] });
    expect((await server.call({ path: "pki/config/urls" })).json.data.crl_distribution_points).toEqual([`${server.env.VAULT_ADDR}/v1/pki/crl`]);
    expect((await server.call({ path: "sys/policies/acl/crashplanPolicy" })).json.data.policy).toBe(CONFIGURED_POLICY);
    const outputs = await fresh().outputs();
    expect(parseAdoptionRecord(outputs[ADOPTION_OUTPUT]?.value)).toEqual({
      rootIssuerId: before.pki[0].id,
      intermediateIssuerId: before.pki_int.find((i) => i.hasKey)?.id,
      adminCertificatePem: expect.stringContaining("-----BEGIN CERTIFICATE-----"),
    });
    expect(rotationView(outputs).current?.serial).toBe(colon(handSerial));

    await inSync();
    const again = await deploy(fresh());
    expect(again.apply.stdout).toContain("Resources: 0 added, 0 changed, 0 destroyed.");
    expect(again.repaired).toEqual([]);
    expect(await caState()).toEqual(before);

    // A second adopt refuses: the state knows the keystore now.
    const second = await run(adoptWith(false, false, []), ["--yes"]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^adopt: the state \(.*keystore\.tfstate\) already manages everything found; nothing to take over\. Run `npm run deploy`/);

    const status = await run(statusMain, ["--json"]);
    expect((JSON.parse(status.stdout) as StatusReport).adminCertificate.serial).toBe(colon(handSerial));
    const bundle = await run((argv, make, io) => bundleMain(argv, () => make().outputs(), io), ["--out", join(td.work, "refused")]);
    expect(bundle.code).toBe(1);
    expect(bundle.stderr).toContain("bundle: the admin certificate was adopted (npm run adopt): its key is only in the crashplan.p12 you made by hand");
    expect(existsSync(join(td.work, "refused", P12_FILE))).toBe(false);
  });

  test("a rotation moves Code42 to a managed certificate: 0 failed logins of the hand-made p12 until finish; then only the managed one logs in", async () => {
    const handLoop = startLoginLoop(server, "hand-made p12 until finish", hand, POLICY);
    loops.push(handLoop);
    const started = await run(rotateMain, ["start"]);
    expect(started.code).toBe(0);
    expect(started.stdout).toContain(`crashplanUser still lets the current one (${colon(handSerial)}) log in`);

    const dir = join(td.work, "managed");
    const written = await run((argv, make, io) => bundleMain(argv, () => make().outputs(), io), ["--out", dir]);
    expect(written.code).toBe(0);
    expect(written.stdout).toContain("this is the NEXT certificate of the rotation in progress");
    const managed = readBundle(dir, P12_FILE, PASSWORD_FILE);
    const managedLoop = startLoginLoop(server, "managed p12 through finish", managed, POLICY);
    loops.push(managedLoop);
    expect(await login(managed)).toEqual({ status: 200, policies: [POLICY, "default"] });

    expectClean(await stopLoop(handLoop));
    const finished = await run(rotateMain, ["finish"]);
    expect(finished.code).toBe(0);
    expect(finished.stdout).toContain(`the old certificate ${colon(handSerial)} is revoked`);
    expectClean(await stopLoop(managedLoop));

    expect((await login(hand)).status).toBe(400);
    expect(await login(managed)).toEqual({ status: 200, policies: [POLICY, "default"] });
    const revoked = (await server.call({ path: `pki_int/cert/${colon(handSerial)}` })).json.data;
    expect(revoked.revocation_time).toBeGreaterThan(0);
    const outputs = await fresh().outputs();
    const record = parseAdoptionRecord(outputs[ADOPTION_OUTPUT]?.value);
    expect(record).toEqual({ rootIssuerId: before.pki[0].id, intermediateIssuerId: before.pki_int.find((i) => i.hasKey)?.id });
    expect(rotationView(outputs)).toMatchObject({ phase: "idle", inProgress: false });
    expect(rotationView(outputs).current?.serial).not.toBe(colon(handSerial));
    expect(await caState()).toEqual(before);
    await inSync();
  });
});

/** Node's serial (upper-case hex) as Vault writes it. */
function colon(hex: string): string {
  const even = hex.length % 2 === 0 ? hex : `0${hex}`;
  return (even.toLowerCase().match(/../g) ?? []).join(":");
}
