import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assertPrivateFile, ensureDir } from "../common/private-files";
import { TLS } from "./layout";

/** A CA and a server certificate for 127.0.0.1 and localhost, made with the openssl CLI. */
export function makeCertificates(tlsDir: string): void {
  ensureDir(tlsDir, "server TLS directory");
  const f = (name: string) => join(tlsDir, name);
  writeFileSync(
    f(TLS.opensslConfig),
    `[req]
distinguished_name = dn
prompt = no
[dn]
CN = c42-keystore local server
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`,
    { mode: 0o600, flag: "wx" },
  );
  // openssl creates key files itself; making them first fixes their mode whatever its version does.
  for (const key of [TLS.caKey, TLS.key]) writeFileSync(f(key), "", { mode: 0o600, flag: "wx" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const serial = () =>
    "0x" +
    randomBytes(16)
      .toString("hex")
      .replace(/^[89a-f]/, "1");
  openssl([
    "req",
    "-x509",
    "-config",
    f(TLS.opensslConfig),
    "-extensions",
    "v3_ca",
    ...ec,
    "-keyout",
    f(TLS.caKey),
    "-out",
    f(TLS.caCert),
    "-days",
    "3650",
    "-set_serial",
    serial(),
    "-subj",
    "/CN=c42-keystore local CA",
  ]);
  openssl(["req", "-new", "-config", f(TLS.opensslConfig), ...ec, "-keyout", f(TLS.key), "-out", f(TLS.csr), "-subj", "/CN=localhost"]);
  openssl([
    "x509",
    "-req",
    "-in",
    f(TLS.csr),
    "-CA",
    f(TLS.caCert),
    "-CAkey",
    f(TLS.caKey),
    "-set_serial",
    serial(),
    "-days",
    "825",
    "-sha256",
    "-extfile",
    f(TLS.opensslConfig),
    "-extensions",
    "v3_server",
    "-out",
    f(TLS.cert),
  ]);
  unlinkSync(f(TLS.csr));
  for (const key of [TLS.caKey, TLS.key]) assertPrivateFile(f(key));
}

export function openssl(args: string[]): void {
  const result = spawnSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (result.error) throw new Error(`cannot run openssl: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed (exit ${result.status}): ${result.stderr.trim()}`);
}
