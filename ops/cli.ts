import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { KeystoreValidationError } from "../lib";
import { bundleMain, BundleIo } from "./bundle";
import { Deployment, PROJECT_DIR } from "./deployment";
import { driftMain } from "./drift";
import { applyPlanMain, planMain } from "./plans";
import { main as serverMain } from "./server-main";
import { statusMain } from "./status";
import { endpointFromEnv, vaultCall } from "./vault-http";

const io: BundleIo = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };
const step = (what: string) => process.stderr.write(`\n==> ${what}\n`);

/** One subcommand: its usage line and what it does. */
interface Command {
  readonly usage: string;
  readonly run: (args: string[]) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  synth: {
    usage: "synth                      validate the configuration and write cdktf.out/stacks/keystore/cdk.tf.json",
    run: async () => {
      const file = new Deployment().synth();
      process.stdout.write(`synthesized ${file}\n`);
      return 0;
    },
  },
  deploy: {
    usage: "deploy                     synthesize, init against the provider mirror and apply (non-interactive)",
    run: async () => {
      const deployment = new Deployment({ echo: true });
      await deployment.apply();
      const backend = deployment.config.backend.type;
      const state = backend === "local" ? deployment.stateFile : `the ${backend} backend`;
      process.stdout.write(`deployed to ${deployment.env.VAULT_ADDR}; state in ${state}\n`);
      return 0;
    },
  },
  drift: {
    usage: "drift [--json]             compare Vault with the configuration; exit 0 in sync, 2 on drift, 1 on error",
    run: (args) => driftMain(args, () => new Deployment(), io),
  },
  plan: {
    usage: "plan [--out FILE]          write a saved plan (default .local/plans/keystore.tfplan, 0600: it holds secrets)",
    run: (args) => planMain(args, () => new Deployment(), io),
  },
  "apply-plan": {
    usage: "apply-plan [FILE]          apply exactly a saved plan; refused when the state or the server moved since it was made",
    run: (args) => applyPlanMain(args, () => new Deployment({ echo: true }), io),
  },
  status: {
    usage: "status [--json] [--window DURATION]  admin and server certificate expiry; exit 1 inside the renewal window",
    run: (args) => statusMain(args, () => new Deployment(), io),
  },
  bundle: {
    usage: "bundle [--out DIR] [--force] [--legacy] [--show-password]  write crashplan.p12 and its password file from the deployed stack",
    run: (args) => bundleMain(args, () => new Deployment().outputs(), io),
  },
  demo: {
    usage: "demo                       toolchain, local OpenBao (unless VAULT_ADDR is set), deploy, bundle, and a login with the bundle",
    run: async () => {
      step("toolchain");
      const toolchain = spawnSync("bash", [join(PROJECT_DIR, "scripts", "toolchain.sh")], { stdio: "inherit" });
      if (toolchain.status !== 0) return 1;
      if (process.env.VAULT_ADDR) {
        step(`using the Vault server at ${process.env.VAULT_ADDR}`);
      } else {
        step("local OpenBao server");
        if ((await serverMain(["start"])) !== 0) return 1;
      }
      step("deploy");
      const deployment = new Deployment({ echo: true });
      await deployment.apply();
      step("PKCS#12 bundle");
      const outDir = join(PROJECT_DIR, ".local", "bundle");
      // The demo always reflects the current certificate; `npm run bundle` alone refuses to overwrite.
      if ((await bundleMain(["--out", outDir, "--force"], () => deployment.outputs(), io)) !== 0) return 1;
      step("login with the bundle, as Code42 does");
      const pfx = readFileSync(join(outDir, "crashplan.p12"));
      const passphrase = readFileSync(join(outDir, "crashplan.p12.password"), "utf8").trim();
      const endpoint = endpointFromEnv(deployment.env);
      const login = await vaultCall(endpoint, { method: "PUT", path: `auth/${deployment.config.certAuth.path}/login`, pfx: { pfx, passphrase } });
      if (login.status !== 200) {
        process.stderr.write(`login with the bundle failed: HTTP ${login.status} ${JSON.stringify(login.json?.errors ?? [])}\n`);
        return 1;
      }
      const auth = login.json.auth;
      await vaultCall(endpoint, { method: "PUT", path: "auth/token/revoke-self", token: auth.client_token });
      process.stdout.write(
        `login OK: policies ${auth.token_policies.join(", ")}, token TTL ${auth.lease_duration}s (token revoked again)\n` +
          `upload ${join(outDir, "crashplan.p12")} in the Code42 console; its password is in ${join(outDir, "crashplan.p12.password")}\n`,
      );
      return 0;
    },
  },
  destroy: {
    usage: "destroy [--including-root-ca]  remove everything the stack created; the root CA only with the flag",
    run: async (args) => {
      const { values } = parseArgs({ args, options: { "including-root-ca": { type: "boolean", default: false } } });
      const env = { ...process.env };
      if (values["including-root-ca"]) env.C42_ROOT_CA_PREVENT_DESTROY = "false";
      const deployment = new Deployment({ echo: true, env });
      if (deployment.config.rootCa.preventDestroy) {
        process.stderr.write(
          "refusing to destroy: the root CA and its mount are protected (rootCa.preventDestroy).\n" +
            "Destroying them invalidates every certificate they signed, including the one Code42 logs in with.\n" +
            "Run `npm run destroy -- --including-root-ca` if that is what you want.\n",
        );
        return 1;
      }
      await deployment.destroy();
      process.stdout.write("destroyed\n");
      return 0;
    },
  },
};

function usage(): string {
  return "usage: ts-node ops/cli.ts <command> [options]\n\n" + Object.values(COMMANDS).map((c) => `  ${c.usage}`).join("\n") + "\n";
}

/** Runs one command; returns the exit code. Errors are printed without stack traces. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(usage());
    return name === "help" || name === "--help" ? 0 : 1;
  }
  try {
    return await command.run(args);
  } catch (e) {
    const prefix = e instanceof KeystoreValidationError ? "configuration error" : "error";
    process.stderr.write(`${prefix}: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
