import { readAuditDevices, readCertRoleCertificate, readLeader } from "../../../ops/vault/readers";

const answer = (json: unknown, status = 200) => ({ status, json });

describe("readers the health probe uses", () => {
  test("sys/leader: the active node's address, empty while there is none", () => {
    expect(readLeader(answer({ is_self: false, leader_address: "https://10.0.0.2:8200" }))).toEqual({ isSelf: false, leaderAddress: "https://10.0.0.2:8200" });
    expect(readLeader(answer({ is_self: false, leader_address: "" }))).toEqual({ isSelf: false, leaderAddress: "" });
    expect(readLeader(answer({ ha_enabled: false }))).toEqual({ isSelf: false, leaderAddress: "" });
  });

  test("sys/audit: devices under data, or at the top level as older servers answer", () => {
    const device = { type: "file", options: { file_path: "audit.log" } };
    expect(readAuditDevices(answer({ data: { "file/": device }, request_id: "x" }))).toEqual([{ path: "file/", type: "file" }]);
    expect(readAuditDevices(answer({ "file/": device, "syslog/": { type: "syslog" } }))).toEqual([
      { path: "file/", type: "file" },
      { path: "syslog/", type: "syslog" },
    ]);
    expect(readAuditDevices(answer({ data: {}, request_id: "x", lease_duration: 0 }))).toEqual([]);
    expect(() => readAuditDevices(answer(undefined, 500))).toThrow("sys/audit answered HTTP 500 without a JSON object");
  });

  test("a cert role's certificate", () => {
    expect(readCertRoleCertificate(answer({ data: { certificate: "-----BEGIN CERTIFICATE-----\n" } }))).toBe("-----BEGIN CERTIFICATE-----\n");
    expect(() => readCertRoleCertificate(answer({ data: { display_name: "x" } }))).toThrow("auth/cert/certs: field certificate is not a string");
  });
});
