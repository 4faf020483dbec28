import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { haproxyConfig, locateHaproxy, parseShowStat } from "../../../ops/server/load-balancer";

describe("haproxyConfig", () => {
  const base = { port: 18443, backends: [1, 2, 3].map((i) => ({ name: `c42-node-${i}`, port: 18200 + i })), caFile: "/d/tls/ca.pem" };

  test("TCP passthrough on 127.0.0.1, TLS health checks with the node certificate verified, one server line per node", () => {
    const cfg = haproxyConfig({ ...base, route: "active", socket: "/d/lb/haproxy.sock" });
    expect(cfg).toMatch(/^defaults\n {2}mode tcp$/m);
    expect(cfg).toContain("  bind 127.0.0.1:18443\n");
    expect(cfg).not.toMatch(/\bssl crt\b/); // never terminates TLS
    expect(cfg).toContain("default-server check check-ssl verify required ca-file /d/tls/ca.pem verifyhost localhost ");
    expect(cfg).toContain("on-marked-down shutdown-sessions");
    expect(cfg).toContain("  server c42-node-1 127.0.0.1:18201\n  server c42-node-2 127.0.0.1:18202\n  server c42-node-3 127.0.0.1:18203\n");
    expect(cfg).toContain("  stats socket /d/lb/haproxy.sock mode 600 level user\n");
  });

  test("route active checks plain sys/health (standbys answer 429); route all lets standbys in with standbyok", () => {
    expect(haproxyConfig({ ...base, route: "active" })).toContain("http-check send meth GET uri /v1/sys/health ver HTTP/1.1");
    expect(haproxyConfig({ ...base, route: "all" })).toContain("http-check send meth GET uri /v1/sys/health?standbyok=true ver HTTP/1.1");
    expect(haproxyConfig({ ...base, route: "all" })).toContain("http-check expect status 200");
  });
});

test("parseShowStat reads the nodes' check states from show stat", () => {
  const csv =
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status\n" +
    "c42_vault,FRONTEND,,,0,1,4096,3,0,0,0,0,0,,,,,OPEN\n" +
    "c42_vault_nodes,c42-node-1,0,0,0,1,,2,0,0,,0,,0,0,0,0,UP\n" +
    "c42_vault_nodes,c42-node-2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN\n" +
    "c42_vault_nodes,BACKEND,0,0,0,1,410,3,0,0,0,0,,0,0,0,0,UP\n";
  expect(parseShowStat(csv)).toEqual([
    { name: "c42-node-1", status: "UP" },
    { name: "c42-node-2", status: "DOWN" },
  ]);
  expect(parseShowStat("")).toEqual([]);
});

describe("locateHaproxy", () => {
  test("C42_HAPROXY wins; PATH is searched", () => {
    const dir = mkdtempSync(join(tmpdir(), "c42-haproxy-"));
    try {
      writeFileSync(join(dir, "haproxy"), "", { mode: 0o700 });
      expect(locateHaproxy({ C42_HAPROXY: join(dir, "haproxy") })).toBe(join(dir, "haproxy"));
      expect(locateHaproxy({ PATH: dir })).toBe(join(dir, "haproxy"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a C42_HAPROXY that does not exist is refused", () => {
    expect(() => locateHaproxy({ C42_HAPROXY: "/nonexistent/haproxy" })).toThrow("C42_HAPROXY names /nonexistent/haproxy, which does not exist");
  });
});
