import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_OUTPUTS, NEXT_BUNDLE_OUTPUTS } from "../../lib";
import { P12_FILE, PASSWORD_FILE, TofuOutputs } from "../../ops/bundle/bundle";
import { bundleMain } from "../../ops/commands/bundle";
import { deployMain } from "../../ops/commands/deploy";
import { driftMain } from "../../ops/commands/drift";
import { rotateMain } from "../../ops/commands/rotate";
import { statusMain } from "../../ops/commands/status";
import { Deployment } from "../../ops/engine/deployment";
import { isolatedDeployment } from "../../ops/engine/scratch";
import { deploy } from "../../ops/lifecycle/deploy";
import { RotationView, rotationView } from "../../ops/lifecycle/rotation";
import { StatusReport } from "../../ops/lifecycle/status";
import { TestDeployment, TestServer, startTestServer, testDeployment } from "./fixtures";
import { Bundle, LoopCounts, compileJavaLogin, javaLogin, readBundle, startLoginLoop } from "./login-clients";
import { capture } from "../helpers/io";

/** A 5 minute certificate whose renewal window (the last 150 s) opens 150 s after it is issued. */
const SETTINGS = { C42_ADMIN_CERT_TTL: "5m", C42_ADMIN_CERT_RENEW_BEFORE: "150s" };
const WINDOW_SECONDS = 150;
/**
 * The unattended rotation's commands run with a 299 s window (adminCert.renewBefore, the documented setting): it opens
 * 1 s after the certificate is issued, where the 150 s one kept the test waiting ~140 s. The stack does not depend on
 * the window in two-phase mode (no auto_renew), so both settings plan the same.
 */
const UNATTENDED = { ...SETTINGS, C42_ADMIN_CERT_RENEW_BEFORE: "299s" };
const UNATTENDED_WINDOW_SECONDS = 299;
const POLICY = "crashplanpolicy";

describe("two-phase rotation of the admin certificate: Code42 never stops logging in (real OpenBao, real OpenTofu)", () => {
  let server: TestServer;
  let td: TestDeployment;
  let work: string;
  let javaDir: string;
  const loops: { stop(): Promise<LoopCounts> }[] = [];
  const bundles: Record<string, { dir: string; bundle: Bundle; serial: string }> = {};
  /** The settings every command runs with; the unattended test widens the window. */
  let settings: Record<string, string> = SETTINGS;

  /** A fresh deployment per command, as each command is its own process: the rotation phase comes from the state. */
  const fresh = (): Deployment => isolatedDeployment(td.work, server.env, settings);
  const run = async (main: (argv: readonly string[], make: () => Deployment, io: ReturnType<typeof capture>["io"]) => Promise<number>, argv: string[] = []) => {
    const { out, io } = capture();
    const code = await main(argv, fresh, io);
    return { code, ...out };
  };
  const outputs = () => fresh().outputs();
  const value = (o: TofuOutputs, name: string) => o[name]?.value as string | undefined;
  /** The cert roles (Vault lists role names in lower case). */
  const roles = async () => {
    const list = await server.call({ method: "LIST", path: "auth/cert/certs" });
    return ((list.json?.data?.keys ?? []) as string[]).slice().sort();
  };
  const pinned = async (role: string) => new X509Certificate((await server.call({ path: `auth/cert/certs/${role}` })).json.data.certificate).serialNumber;
  const hexOf = (colonSerial: string) => colonSerial.replace(/:/g, "").toUpperCase();
  const nodeLogin = async (b: Bundle) => {
    const answer = await server.call({ method: "PUT", path: "auth/cert/login", token: undefined, pfx: b });
    if (answer.status === 200) await server.call({ method: "PUT", path: "auth/token/revoke-self", token: answer.json.auth.client_token });
    return { status: answer.status, policies: (answer.json?.auth?.token_policies ?? []) as string[] };
  };
  const java = (name: string) => javaLogin(javaDir, join(bundles[name].dir, P12_FILE), bundles[name].bundle.passphrase, server);
  /** Writes the bundle `npm run bundle` gives now into a directory named `name`. */
  const writeBundleAs = async (name: string) => {
    const dir = join(work, name);
    const result = await run((argv, make, io) => bundleMain(argv, () => make().outputs(), io), ["--out", dir]);
    expect(result.code).toBe(0);
    const serial = /certificate serial ([0-9a-f:]+),/.exec(result.stdout)?.[1] ?? "";
    bundles[name] = { dir, bundle: readBundle(dir, P12_FILE, PASSWORD_FILE), serial };
    noSecrets(result.stdout + result.stderr);
    return result;
  };
  const noSecrets = (text: string) => {
    expect(text).not.toContain("PRIVATE KEY");
    for (const b of Object.values(bundles)) expect(text.includes(b.bundle.passphrase)).toBe(false);
  };
  const report = (counts: LoopCounts) => {
    process.stderr.write(
      `rotation: ${counts.name} login loop: ${counts.ok} ok, ${counts.failed} failed of ${counts.attempts} in ${counts.seconds} s ` +
        `(${counts.rate}/s, longest gap ${counts.maxGapMs} ms)${counts.failures.length ? `; first failures: ${counts.failures.join("; ")}` : ""}\n`,
    );
    return counts;
  };
  const expectClean = (counts: LoopCounts) => {
    expect(counts.failures).toEqual([]);
    expect(counts.failed).toBe(0);
    expect(counts.ok).toBe(counts.attempts);
    expect(counts.attempts).toBeGreaterThan(0);
    expect(counts.rate).toBeGreaterThanOrEqual(2);
  };
  const stopLoop = async (loop: { stop(): Promise<LoopCounts> }) => {
    loops.splice(loops.indexOf(loop), 1);
    return report(await loop.stop());
  };
  const inSync = async () => {
    const drift = await run(driftMain);
    expect(drift.stdout).toBe("in sync: Vault matches the configuration\n");
    expect(drift.code).toBe(0);
  };
  const planIsEmpty = async () => {
    const plan = await fresh().plan();
    expect(plan.stdout).toContain("No changes.");
    expect(plan.code).toBe(0);
  };
  const view = async (): Promise<RotationView> => rotationView(await outputs());

  beforeAll(async () => {
    server = await startTestServer();
    td = testDeployment(server, SETTINGS);
    work = mkdtempSync(join(tmpdir(), "c42-rotation-"));
    javaDir = join(work, "java");
    mkdirSync(javaDir, { mode: 0o700 });
    await Promise.all([compileJavaLogin(javaDir), run(deployMain).then((r) => expect(r.code).toBe(0))]);
  });

  afterAll(async () => {
    await Promise.all(loops.splice(0).map((l) => l.stop()));
    if (work) rmSync(work, { recursive: true, force: true });
    td?.cleanup();
    await server?.stop();
  });

  test("before any rotation: status ok, finish and abort refuse and change nothing, drift in sync", async () => {
    const v = await view();
    expect(v.phase).toBe("idle");
    expect(v.inProgress).toBe(false);
    expect(v.next).toBeUndefined();
    const status = await run(statusMain, ["--json"]);
    expect(status.code).toBe(0);
    const r = JSON.parse(status.stdout) as StatusReport;
    expect(r.adminCertificate.serial).toBe(v.current?.serial);
    expect(r.adminCertificate.secondsLeft).toBeGreaterThan(WINDOW_SECONDS);
    expect(r.rotation?.phase).toBe("idle");

    for (const action of ["finish", "abort"]) {
      const refused = await run(rotateMain, [action]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        `rotate: no rotation in progress, nothing to ${action}: nothing was changed${action === "finish" ? ". Start one with `npm run rotate -- start`" : ""}\n`,
      );
    }
    expect((await view()).current?.serial).toBe(v.current?.serial);
    expect(await roles()).toEqual(["crashplanuser"]);
    await inSync();

    const bad = await run(rotateMain, ["begin"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('rotate: unknown action "begin"; expected start, finish or abort\nusage: rotate start|finish|abort');
  });

  test("manual start, then abort: the current certificate logs in throughout, the next one only between start and abort", async () => {
    await writeBundleAs("a");
    expect(bundles.a.serial).toBe((await view()).current?.serial);
    const loopA = startLoginLoop(server, "current (A)", bundles.a.bundle, POLICY);
    loops.push(loopA);

    const started = await run(rotateMain, ["start"]);
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);
    const v = await view();
    expect(v.phase).toBe("started");
    expect(v.current?.serial).toBe(bundles.a.serial);
    expect(v.next?.serial).toMatch(/^[0-9a-f:]+$/);
    expect(v.next?.serial).not.toBe(bundles.a.serial);
    expect(started.stdout).toContain(
      `started: the next certificate is issued and role crashplanUser-next lets it log in; crashplanUser still lets the current one (${bundles.a.serial}) log in\n`,
    );
    expect(await roles()).toEqual(["crashplanuser", "crashplanuser-next"]);
    expect(await pinned("crashplanUser")).toBe(hexOf(bundles.a.serial));
    expect(await pinned("crashplanUser-next")).toBe(hexOf(v.next?.serial ?? ""));

    const written = await writeBundleAs("c");
    expect(bundles.c.serial).toBe(v.next?.serial);
    expect(written.stdout).toContain("this is the NEXT certificate of the rotation in progress: upload it, then run `npm run rotate -- finish`\n");
    const loopC = startLoginLoop(server, "next (C, to be aborted)", bundles.c.bundle, POLICY);
    loops.push(loopC);

    const again = await run(rotateMain, ["start"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("a rotation was already in progress; nothing new was issued\n");
    expect((await view()).next?.serial).toBe(bundles.c.serial);

    const countsC = await stopLoop(loopC);
    expectClean(countsC);
    const aborted = await run(rotateMain, ["abort"]);
    expect(aborted.code).toBe(0);
    expect(aborted.stdout).toContain(`aborted: the next certificate ${bundles.c.serial}`);
    expect(await roles()).toEqual(["crashplanuser"]);
    expect((await view()).phase).toBe("idle");
    expect((await view()).current?.serial).toBe(bundles.a.serial);
    expect((await nodeLogin(bundles.c.bundle)).status).toBe(400);
    const revoked = (await server.call({ path: `pki_int/cert/${bundles.c.serial}` })).json.data;
    expect(revoked.revocation_time).toBeGreaterThan(0);
    // A keeps logging in: its loop carries on into the unattended rotation below.
    const a = await nodeLogin(bundles.a.bundle);
    expect(a.status).toBe(200);
    await inSync();
  });

  test("unattended: inside the window a deploy starts the rotation on its own; both certificates log in (Node and Java); drift is in sync", async () => {
    settings = UNATTENDED;
    const current = (await view()).current;
    const opens = Date.parse(current?.notAfter ?? "") - UNATTENDED_WINDOW_SECONDS * 1000 + 1000;
    const startedWaiting = Date.now();
    // The window opens at a known instant (A was outside the 150 s one in the first test); the status check below proves we are inside it.
    if (opens > Date.now()) await new Promise((r) => setTimeout(r, opens - Date.now()));
    process.stderr.write(`rotation: waited ${Math.round((Date.now() - startedWaiting) / 1000)} s for the renewal window\n`);
    const flagged = await run(statusMain);
    expect(flagged.code).toBe(1);
    expect(flagged.stdout).toContain("RENEW: inside the 299s renewal window; run `npm run deploy` or `npm run rotate -- start`");

    const deployed = await run(deployMain);
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toContain(`started a rotation: the current admin certificate ${bundles.a.serial} expires`);
    const v = await view();
    expect(v.phase).toBe("started");
    expect(v.current?.serial).toBe(bundles.a.serial);
    expect(await roles()).toEqual(["crashplanuser", "crashplanuser-next"]);

    await writeBundleAs("b");
    expect(bundles.b.serial).toBe(v.next?.serial);
    loops.push(startLoginLoop(server, "next (B)", bundles.b.bundle, POLICY));

    for (const name of ["a", "b"]) {
      const j = await java(name);
      expect(j).toEqual({ status: 200, policies: ["crashplanpolicy", "default"] });
    }

    const status = await run(statusMain);
    expect(status.stdout).toContain("rotation in progress: next certificate issued, waiting for upload to Code42\n");
    expect(status.stdout).toContain(`  serial     ${bundles.a.serial}\n`);
    expect(status.stdout).toContain(
      `next admin certificate (logs in beside the current one)\n  subject    CN=crashplan-admin\n  serial     ${bundles.b.serial}\n  not after  ${v.next?.notAfter}\n`,
    );
    expect(status.stdout).toContain(`  not after  ${v.current?.notAfter}\n`);
    noSecrets(status.stdout);
    const json = JSON.parse((await run(statusMain, ["--json"])).stdout) as StatusReport;
    expect(json.rotation).toEqual(v);
    expect(json.nextCertificate?.serial).toBe(bundles.b.serial);

    await inSync();
    // Another nightly deploy during the rotation changes nothing and finishes nothing.
    const second = await run(deployMain);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain("started a rotation");
    expect(await view()).toEqual(v);
    await planIsEmpty();
    const out = await outputs();
    expect(value(out, NEXT_BUNDLE_OUTPUTS.serialNumber)).toBe(bundles.b.serial);
    expect(value(out, BUNDLE_OUTPUTS.serialNumber)).toBe(bundles.a.serial);
  });

  test("finish after the upload: A's loop never failed until finish, B's never failed through finish; then only B logs in (Node and Java)", async () => {
    settings = SETTINGS;
    expect(loops).toHaveLength(2);
    const countsA = await stopLoop(loops[0]);
    expectClean(countsA);

    // A command on another machine that read the state while the rotation was started.
    const stale = fresh();
    expect(await stale.rotationPhase()).toEqual({ recorded: "started", target: "started" });

    const finished = await run(rotateMain, ["finish"]);
    expect(finished.stderr).toBe("");
    expect(finished.code).toBe(0);
    expect(finished.stdout).toContain(`the old certificate ${bundles.a.serial} is revoked`);
    const countsB = await stopLoop(loops[0]);
    expectClean(countsB);

    const v = await view();
    expect(v).toEqual({ phase: "idle", inProgress: false, current: { serial: bundles.b.serial, notAfter: expect.any(String) }, next: undefined });
    expect(await roles()).toEqual(["crashplanuser"]);
    expect(await pinned("crashplanUser")).toBe(hexOf(bundles.b.serial));
    expect((await server.call({ path: `pki_int/cert/${bundles.a.serial}` })).json.data.revocation_time).toBeGreaterThan(0);

    expect((await nodeLogin(bundles.a.bundle)).status).toBe(400);
    expect(await nodeLogin(bundles.b.bundle)).toEqual({ status: 200, policies: ["crashplanpolicy", "default"] });
    expect((await java("a")).status).toBe(400);
    expect(await java("b")).toEqual({ status: 200, policies: ["crashplanpolicy", "default"] });

    // Its deploy would build the started stack again (a new next certificate): refused, nothing applied.
    await expect(deploy(stale)).rejects.toThrow(
      'the state now records rotation phase "idle", not "started" as when this command read it: another command or machine sharing the state moved the rotation on. Nothing was applied',
    );
    expect(await view()).toEqual(v);
    expect(await roles()).toEqual(["crashplanuser"]);

    const again = await run(rotateMain, ["finish"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("rotate: no rotation in progress, nothing to finish");

    // The next deploy must not see B inside its window, or it would (rightly) start the next rotation.
    expect(Date.parse(v.current?.notAfter ?? "") - WINDOW_SECONDS * 1000 - Date.now()).toBeGreaterThan(5_000);
    await inSync();
    const deployed = await run(deployMain);
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).not.toContain("started a rotation");
    expect(await view()).toEqual(v);
    await planIsEmpty();

    const bundled = await writeBundleAs("b-again");
    expect(bundles["b-again"].serial).toBe(bundles.b.serial);
    expect(bundled.stdout).toContain("this is the current certificate (no rotation in progress)\n");
  });

  test("adminCert.rotation one-step keeps the old behaviour: a deploy inside the window replaces the certificate in one apply, and the old bundle stops working at once", async () => {
    // A 290 s window of a 300 s life: B, issued more than 10 s ago, is inside it.
    const oneStep = () => isolatedDeployment(td.work, server.env, { ...SETTINGS, C42_ADMIN_CERT_ROTATION: "one-step", C42_ADMIN_CERT_RENEW_BEFORE: "290s" });
    const runOneStep = async (main: typeof deployMain | typeof driftMain, argv: string[] = []) => {
      const { out, io } = capture();
      return { code: await main(argv, oneStep, io), ...out };
    };
    const b = (await view()).current;
    expect(Date.parse(b?.notAfter ?? "") - 290_000).toBeLessThan(Date.now());

    // The first deploy only turns auto_renew on (the provider reads the window it flags renew_pending with from the state).
    expect((await runOneStep(deployMain)).code).toBe(0);
    expect((await view()).current?.serial).toBe(bundles.b.serial);
    const drift = await runOneStep(driftMain, ["--json"]);
    expect(drift.code).toBe(2);
    const drifted = (JSON.parse(drift.stdout) as { drifted: { address: string; actions: string[] }[] }).drifted;
    expect(drifted.map((d) => [d.address.split(".")[0], d.actions])).toEqual(
      expect.arrayContaining([
        ["vault_pki_secret_backend_cert", ["delete", "create"]],
        ["vault_cert_auth_backend_role", ["delete", "create"]],
        ["random_password", ["delete", "create"]],
      ]),
    );

    const deployed = await runOneStep(deployMain);
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).not.toContain("started a rotation");
    const v = await view();
    expect(v.phase).toBe("idle");
    expect(v.current?.serial).not.toBe(bundles.b.serial);
    expect(await roles()).toEqual(["crashplanuser"]);
    expect(await pinned("crashplanUser")).toBe(hexOf(v.current?.serial ?? ""));
    expect((await server.call({ path: `pki_int/cert/${bundles.b.serial}` })).json.data.revocation_time).toBeGreaterThan(0);
    expect((await nodeLogin(bundles.b.bundle)).status).toBe(400);

    const { out, io } = capture();
    expect(await bundleMain(["--out", join(work, "one-step")], await oneStep().outputs(), io)).toBe(0);
    const replaced = readBundle(join(work, "one-step"), P12_FILE, PASSWORD_FILE);
    expect(out.stdout).toContain(`certificate serial ${v.current?.serial},`);
    expect(replaced.passphrase === bundles.b.bundle.passphrase).toBe(false);
    expect(await nodeLogin(replaced)).toEqual({ status: 200, policies: ["crashplanpolicy", "default"] });
  });
});
