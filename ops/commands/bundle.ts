import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ADOPTION_OUTPUT, parseAdoptionRecord } from "../../lib/adoption-record";
import { P12_FILE, PASSWORD_FILE, TofuOutputs, writeBundle } from "../bundle/bundle";
import { bundleToGive } from "../bundle/bundle-choice";
import { DEFAULT_BUNDLE_DIR } from "../common/paths";
import { CommandIo, CommandSpec, EXIT, nonEmptyPath, runCommand } from "./command";

export const BUNDLE: CommandSpec<{
  out: { type: "string" };
  force: { type: "boolean"; default: false };
  legacy: { type: "boolean"; default: false };
  "show-password": { type: "boolean"; default: false };
  "friendly-name": { type: "string"; default: string };
}> = {
  name: "bundle",
  synopsis: "[--out DIR] [--force] [--legacy] [--show-password] [--friendly-name NAME]",
  summary: "write crashplan.p12 and its password file: the certificate Code42 should use next",
  details: `  Writes the bundle of the certificate Code42 should use next: during a rotation
  (\`rotate start\`) the next certificate, else the current one; says which, by serial.
  --out DIR             directory for ${P12_FILE} and ${PASSWORD_FILE} (default ${DEFAULT_BUNDLE_DIR});
                        created 0700 when missing, an existing one is used as it is; both files 0600
  --force               replace existing files
  --legacy              3DES with a SHA-1 MAC, for old Java readers (default AES-256-CBC, PBKDF2, HMAC-SHA256)
  --show-password       print the password (otherwise only the password file's path is printed)
  --friendly-name NAME  alias of the key entry (default crashplan)
`,
  options: {
    out: { type: "string" },
    force: { type: "boolean", default: false },
    legacy: { type: "boolean", default: false },
    "show-password": { type: "boolean", default: false },
    "friendly-name": { type: "string", default: "crashplan" },
  },
};

/**
 * The `bundle` command. `outputs` is the deployed stack's `tofu output -json`,
 * or a function that fetches it once the arguments are known to be good.
 * Resolves to the exit code: 0 written, 1 not, 2 for a bad command line.
 */
export function bundleMain(argv: readonly string[], outputs: TofuOutputs | (() => Promise<TofuOutputs>), io: CommandIo): Promise<number> {
  return runCommand(BUNDLE, argv, io, async ({ values }) => {
    const out = nonEmptyPath("--out", values.out) ?? DEFAULT_BUNDLE_DIR;
    const all = typeof outputs === "function" ? await outputs() : outputs;
    const choice = bundleToGive(all);
    if (choice.which === "current" && parseAdoptionRecord(all[ADOPTION_OUTPUT]?.value)?.adminCertificatePem !== undefined) {
      throw new Error(
        "the admin certificate was adopted (npm run adopt): its key is only in the crashplan.p12 you made by hand, never in Vault or the state, " +
          "so no bundle can be written for it; Code42 keeps using that file. To move Code42 to a certificate this project manages: " +
          "`npm run rotate -- start`, then `npm run bundle` writes the new one (docs/adopt.md)",
      );
    }
    const written = await writeBundle({
      outputs: choice.outputs,
      outDir: resolve(process.cwd(), out),
      force: values.force,
      legacy: values.legacy,
      friendlyName: values["friendly-name"],
    });
    const encryption = values.legacy ? "3DES, SHA-1 MAC (legacy)" : "AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC";
    io.stdout(`wrote ${written.p12Path} (${written.bytes} bytes, ${encryption})\n`);
    io.stdout(`certificate serial ${written.serial}, expires ${written.notAfter.toISOString()}\n`);
    io.stdout(
      choice.which === "next"
        ? "this is the NEXT certificate of the rotation in progress: upload it, then run `npm run rotate -- finish`\n"
        : "this is the current certificate (no rotation in progress)\n",
    );
    if (values["show-password"]) {
      const password = (await readFile(written.passwordPath, "utf8")).trimEnd();
      io.stdout(`password: ${password}\n`);
    } else {
      io.stdout(`password in ${written.passwordPath} (print it with --show-password)\n`);
    }
    io.stdout(`upload ${P12_FILE} with that password in the Code42 console\n`);
    return EXIT.ok;
  });
}
