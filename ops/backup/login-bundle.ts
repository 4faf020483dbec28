import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { P12_FILE, PASSWORD_FILE } from "../bundle/bundle";
import { LoginBundle } from "./keystore";

/**
 * crashplan.p12 and its password from a bundle directory (what `bundle`
 * writes), for the login check. `option` names where the directory came from.
 */
export function readLoginBundle(dir: string, option: string): LoginBundle {
  const file = join(resolve(dir), P12_FILE);
  const passwordFile = join(resolve(dir), PASSWORD_FILE);
  for (const f of [file, passwordFile]) {
    if (!existsSync(f)) {
      throw new Error(
        `${option}: ${f} does not exist; the login check needs crashplan.p12 and its password file (\`npm run bundle\` writes them); give their directory with --bundle DIR, or --skip-login`,
      );
    }
  }
  return { file, pfx: readFileSync(file), passphrase: readFileSync(passwordFile, "utf8").trimEnd() };
}
