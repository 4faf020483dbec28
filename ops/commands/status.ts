import { parseDuration } from "../../lib/duration";
import { Deployment } from "../engine/deployment";
import { checkStatus, formatStatus } from "../lifecycle/status";
import { CommandIo, CommandSpec, asUsage, runCommand } from "./command";
import { assertStateCluster } from "../lifecycle/cluster-check";

export const STATUS: CommandSpec<{ json: { type: "boolean"; default: false }; window: { type: "string" } }> = {
  name: "status",
  synopsis: "[--json] [--window DURATION]",
  summary: "admin and server certificate expiry, roles that shadow the login; exit 1 inside the renewal window or when shadowed",
  details: `  Prints the admin certificate's subject, serial, expiry and days left, and the
  Vault server's own TLS certificate expiry. Exit 1 when either is inside the
  renewal window (default: the adminCert.renewBefore setting, e.g. "30d"), or
  when a cert role other than certRole.name (and its -next twin) accepts the
  admin certificate: Code42's nameless login could land there. Such a role is
  named with what to do; it is never removed (Code42 may have made it).
  Reading the roles takes VAULT_TOKEN with list and read on auth/<certAuth.path>/certs.
`,
  options: { json: { type: "boolean", default: false }, window: { type: "string" } },
};

/** The `status` command: resolves to 0 when both certificates are outside the window, 1 otherwise or on error. */
export function statusMain(argv: readonly string[], makeDeployment: () => Deployment, io: CommandIo): Promise<number> {
  return runCommand(STATUS, argv, io, async ({ values }) => {
    const window = values.window === undefined ? undefined : asUsage(() => parseDuration("--window", values.window ?? ""));
    const deployment = makeDeployment();
    const windowSeconds = window ?? parseDuration("adminCert.renewBefore", deployment.config.adminCert.renewBefore);
    await assertStateCluster(deployment);
    const report = await checkStatus(deployment, windowSeconds);
    io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
    return report.ok ? 0 : 1;
  });
}
