import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LOCAL_DIR, PROJECT_DIR } from "../common/paths";
import { Deployment } from "../engine/deployment";
import { deploy } from "../lifecycle/deploy";
import { endpointFromEnv, vaultCall } from "../vault/client";
import { readErrors, readLogin } from "../vault/readers";
import { bundleMain } from "./bundle";
import { CommandIo, CommandSpec, EXIT, runCommand } from "./command";
import { serverMain } from "./server";

export const DEMO: CommandSpec<Record<string, never>> = {
  name: "demo",
  synopsis: "",
  summary: "toolchain, local OpenBao (unless VAULT_ADDR is set), deploy, bundle, and a login with the bundle",
  details: "  Everything from nothing to a crashplan.p12 that logs in, on this machine.\n",
  options: {},
};

/** The `demo` command. */
export function demoMain(argv: readonly string[], io: CommandIo): Promise<number> {
  const step = (what: string) => io.stderr(`\n==> ${what}\n`);
  return runCommand(DEMO, argv, io, async () => {
    step("toolchain");
    // bao only for the local server: against VAULT_ADDR nothing needs it.
    const toolchainArgs = process.env.VAULT_ADDR ? ["--no-server"] : [];
    const toolchain = spawnSync("bash", [join(PROJECT_DIR, "scripts", "toolchain.sh"), ...toolchainArgs], { stdio: "inherit" });
    if (toolchain.status !== 0) return EXIT.failed;
    if (process.env.VAULT_ADDR) {
      step(`using the Vault server at ${process.env.VAULT_ADDR}`);
    } else {
      step("local OpenBao server");
      if ((await serverMain(["start"], io)) !== 0) return EXIT.failed;
    }
    step("deploy");
    const deployment = new Deployment({ echo: io });
    await deploy(deployment);
    io.stderr(`${deployment.describeEngine()}\n`);
    step("PKCS#12 bundle");
    const outDir = join(LOCAL_DIR, "bundle");
    // The demo always reflects the current certificate; `npm run bundle` alone refuses to overwrite.
    if ((await bundleMain(["--out", outDir, "--force"], () => deployment.outputs(), io)) !== 0) return EXIT.failed;
    step("login with the bundle, as Code42 does");
    const pfx = readFileSync(join(outDir, "crashplan.p12"));
    const passphrase = readFileSync(join(outDir, "crashplan.p12.password"), "utf8").trim();
    const endpoint = endpointFromEnv(deployment.env);
    const answer = await vaultCall(endpoint, { method: "PUT", path: `auth/${deployment.config.certAuth.path}/login`, pfx: { pfx, passphrase } });
    if (answer.status !== 200) {
      io.stderr(`demo: login with the bundle failed: HTTP ${answer.status} ${readErrors(answer)}\n`);
      return EXIT.failed;
    }
    const login = readLogin(answer);
    await vaultCall(endpoint, { method: "PUT", path: "auth/token/revoke-self", token: login.clientToken });
    io.stdout(
      `login OK: policies ${login.policies.join(", ")}, token TTL ${login.leaseDuration}s (token revoked again)\n` +
        `upload ${join(outDir, "crashplan.p12")} in the Code42 console; its password is in ${join(outDir, "crashplan.p12.password")}\n`,
    );
    return EXIT.ok;
  });
}
