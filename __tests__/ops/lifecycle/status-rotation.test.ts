import { CertificateStatus, formatStatus } from "../../../ops/lifecycle/status";

const cert = (serial: string, secondsLeft: number, insideWindow: boolean): CertificateStatus => ({
  subject: "CN=crashplan-admin",
  serial,
  notAfter: "2027-01-15T08:00:00.000Z",
  daysLeft: Math.floor((secondsLeft / 86400) * 10) / 10,
  secondsLeft,
  insideWindow,
});
const server = cert("99", 800 * 86400, false);

describe("status during a rotation", () => {
  test("started: says the next certificate waits for its upload, with both serials and what to do", () => {
    const text = formatStatus({
      windowSeconds: 30 * 86400,
      adminCertificate: cert("0a:01", 10 * 86400, true),
      vaultServer: server,
      rotation: { phase: "started", inProgress: true, current: { serial: "0a:01", notAfter: "2027-01-15T08:00:00.000Z" } },
      nextCertificate: cert("0b:02", 365 * 86400, false),
      ok: false,
    });
    expect(text).toContain("  serial     0a:01\n");
    expect(text).toContain("  RENEW: inside the 30d renewal window; a rotation is in progress (below)\n");
    expect(text).toContain(
      "rotation in progress: next certificate issued, waiting for upload to Code42\nnext admin certificate (logs in beside the current one)\n  subject    CN=crashplan-admin\n  serial     0b:02\n",
    );
    expect(text).toContain("run `npm run rotate -- finish` (or `npm run rotate -- abort`)");
  });

  test("finishing: tells to run finish again", () => {
    const text = formatStatus({
      windowSeconds: 30 * 86400,
      adminCertificate: cert("0b:02", 365 * 86400, false),
      vaultServer: server,
      rotation: { phase: "finishing", inProgress: true },
      ok: true,
    });
    expect(text).toContain(
      "rotation being finished: the certificate above is the new one and the old one is revoked; run `npm run rotate -- finish` to complete it\n",
    );
    expect(text).not.toContain("next admin certificate");
  });

  test("idle inside the window: says how to start a rotation", () => {
    const text = formatStatus({
      windowSeconds: 30 * 86400,
      adminCertificate: cert("0a:01", 10 * 86400, true),
      vaultServer: server,
      rotation: { phase: "idle", inProgress: false },
      ok: false,
    });
    expect(text).toContain("RENEW: inside the 30d renewal window; run `npm run deploy` or `npm run rotate -- start`");
    expect(text).not.toContain("rotation in progress");
  });
});
