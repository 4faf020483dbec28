import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfSignedCertificate } from "../../helpers/test-pki";
import { Server, createServer } from "node:tls";
import { certificateStatus, formatStatus, formatWindow } from "../../../ops/lifecycle/status";
import { serverCertificate } from "../../../ops/vault/server-certificate";

jest.setTimeout(60_000);

let dir: string;
let pem: string;
let keyPem: string;
let cert: X509Certificate;
const DAY = 86400;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "c42-status-test-"));
  ({
    certPem: pem,
    keyPem,
    certificate: cert,
  } = selfSignedCertificate(dir, {
    cn: "localhost",
    days: 10,
    extraArgs: ["-set_serial", "0x1a2b3c", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
  }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const notAfter = () => new Date(cert.validTo);
const before = (seconds: number) => new Date(notAfter().getTime() - seconds * 1000);

describe("certificateStatus", () => {
  test("subject, serial as Vault writes it, expiry and time left", () => {
    const s = certificateStatus(cert, before(5 * DAY + 3600), 30 * DAY);
    expect(s).toEqual({
      subject: "CN=localhost",
      serial: "1a:2b:3c",
      notAfter: notAfter().toISOString(),
      daysLeft: 5,
      secondsLeft: 5 * DAY + 3600,
      insideWindow: true,
    });
  });

  test("outside the window when more time is left than the window", () => {
    expect(certificateStatus(cert, before(2 * DAY), DAY).insideWindow).toBe(false);
    expect(certificateStatus(cert, before(DAY), DAY).insideWindow).toBe(true);
    expect(certificateStatus(cert, before(DAY - 1), DAY).insideWindow).toBe(true);
  });

  test("an expired certificate has negative time left and is inside any window", () => {
    const s = certificateStatus(cert, new Date(notAfter().getTime() + 90_000), 60);
    expect(s.secondsLeft).toBe(-90);
    expect(s.insideWindow).toBe(true);
  });
});

describe("formatStatus", () => {
  test("flags the certificate inside the window with what to do", () => {
    const admin = certificateStatus(cert, before(60), 120);
    const server = certificateStatus(cert, before(10 * DAY), 120);
    const text = formatStatus({ windowSeconds: 120, adminCertificate: admin, vaultServer: server, ok: false });
    expect(text).toContain("admin certificate (Code42 login)\n  subject    CN=localhost\n  serial     1a:2b:3c\n");
    expect(text).toContain("  days left  0.0 (60 s)\n  RENEW: inside the 2m renewal window; run `npm run deploy`");
    expect(text.match(/RENEW/g)).toHaveLength(1);
    expect(text).not.toContain("ok:");
  });
});

test("formatWindow uses the largest unit that divides the window", () => {
  expect([30 * DAY, 36 * 3600, 120, 90].map(formatWindow)).toEqual(["30d", "36h", "2m", "90s"]);
});

describe("serverCertificate", () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer({ cert: pem, key: keyPem }, (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test("reads the certificate a server presents, verified against its CA", async () => {
    const presented = await serverCertificate({ addr: `https://127.0.0.1:${port}`, caPem: pem });
    expect(presented.raw.equals(cert.raw)).toBe(true);
    const byName = await serverCertificate({ addr: `https://localhost:${port}`, caPem: pem });
    expect(byName.serialNumber).toBe(cert.serialNumber);
  });

  test("refuses a server its CA did not sign", async () => {
    await expect(serverCertificate({ addr: `https://127.0.0.1:${port}` })).rejects.toThrow(
      /TLS handshake with https:\/\/127\.0\.0\.1:\d+ failed: self[- ]signed certificate/,
    );
  });

  test("refuses a plain http address", async () => {
    await expect(serverCertificate({ addr: "http://127.0.0.1:8200" })).rejects.toThrow("VAULT_ADDR http://127.0.0.1:8200 is not https://");
  });
});
