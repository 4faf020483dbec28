import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A private PostgreSQL cluster on 127.0.0.1, owned by one test file. Host
 * connections need the password (scram-sha-256); it lives only in a 0600
 * pgpass file that `PGPASSFILE` names, never in argv or a connection string.
 */
export interface TestPostgres {
  readonly port: number;
  /** For the engine and psql: `PG_CONN_STR` (no password) and `PGPASSFILE`. */
  readonly env: { readonly PG_CONN_STR: string; readonly PGPASSFILE: string };
  /** The password, only so tests can check that no file holds it. Never print it. */
  readonly passwordForLeakChecks: string;
  /** Runs one SQL statement over TCP with the password from PGPASSFILE; returns psql's unaligned output. */
  sql(statement: string): string;
  /** Stops the cluster and removes its directory. */
  stop(): void;
}

const USER = "c42";

/** The newest Debian PostgreSQL server binaries (`/usr/lib/postgresql/<major>/bin`). */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))) : [];
  if (majors.length === 0) {
    throw new Error(
      "PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin/initdb); install Debian's postgresql package (.ci/run does: apt-get install -y postgresql)",
    );
  }
  majors.sort((a, b) => Number(b) - Number(a));
  return join(root, majors[0], "bin");
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * initdb and postgres refuse to run as root: as root, the cluster runs as the
 * `postgres` system user the Debian package creates; otherwise as ourselves.
 */
function serverUser(): { run: (cmd: string, args: string[]) => string; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) {
    return { run: (cmd, args) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] }).toString() };
  }
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  return {
    run: (cmd, args) => execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { stdio: ["ignore", "pipe", "pipe"], cwd: "/" }).toString(),
    uid,
    gid,
  };
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const user = serverUser();
  // As root the cluster runs as postgres, which must reach the directory: /tmp, not a private TMPDIR.
  const dir = mkdtempSync(join(user.uid === undefined ? tmpdir() : "/tmp", "c42-pg-"));
  // The cluster user must reach its own subdirectory; nothing here is listable by others.
  chmodSync(dir, 0o711);
  const cluster = join(dir, "cluster");
  const data = join(cluster, "data");
  const socketDir = join(cluster, "socket");
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  chmodSync(cluster, 0o700);
  const password = randomBytes(24).toString("hex");
  const pwfile = join(cluster, "initdb.pw");
  writeFileSync(pwfile, password + "\n", { mode: 0o600 });
  if (user.uid !== undefined && user.gid !== undefined) {
    for (const p of [cluster, socketDir, pwfile]) chownSync(p, user.uid, user.gid);
  }
  const port = await freePort();
  const passfile = join(dir, "pgpass");
  writeFileSync(passfile, `127.0.0.1:${port}:*:${USER}:${password}\n`, { mode: 0o600 });

  const stop = () => {
    try {
      if (existsSync(join(data, "postmaster.pid"))) user.run(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    user.run(join(bin, "initdb"), [
      "-D",
      data,
      "-U",
      USER,
      `--pwfile=${pwfile}`,
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      "-E",
      "UTF8",
      "--locale=C",
    ]);
    rmSync(pwfile);
    user.run(join(bin, "pg_ctl"), [
      "-D",
      data,
      "-l",
      join(cluster, "server.log"),
      "-w",
      "-t",
      "60",
      "-o",
      `-c listen_addresses=127.0.0.1 -p ${port} -k ${socketDir}`,
      "start",
    ]);
  } catch (e) {
    stop();
    throw e;
  }

  const env = { PG_CONN_STR: `postgres://${USER}@127.0.0.1:${port}/postgres?sslmode=disable`, PGPASSFILE: passfile };
  return {
    port,
    env,
    passwordForLeakChecks: password,
    sql: (statement) =>
      execFileSync(
        join(bin, "psql"),
        ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", USER, "-d", "postgres", "-c", statement],
        {
          env: { PATH: process.env.PATH, PGPASSFILE: passfile },
          stdio: ["ignore", "pipe", "pipe"],
        },
      )
        .toString()
        .trim(),
    stop,
  };
}
