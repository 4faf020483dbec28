import { CI_APPLY_ROLE, CI_PLAN_ROLE, CiPolicyTargets, ciPolicyRules, renderCiPolicy } from "../../lib/ci-policy-rules";
import { KeystoreConfig } from "../../lib/config";
import { CommandIo, CommandSpec, EXIT, runCommand } from "./command";

export const CI_POLICIES: CommandSpec<Record<string, never>> = {
  name: "ci-policies",
  synopsis: "",
  summary: "print the policies of the CI roles c42-keystore-plan and c42-keystore-apply (HCL)",
  details: `  Prints the two policies the stack generates for CI's OIDC roles (ci.* settings,
  docs/ci.md) from the configuration's mount paths and names, exactly as a deploy
  writes them, for users who manage Vault policies elsewhere. Touches neither
  Vault nor the state.
`,
  options: {},
};

/** Where the stack's objects live, from the configuration's plain values (the stack uses its resources' references). */
export function ciPolicyTargets(c: KeystoreConfig): CiPolicyTargets {
  const rootPki = c.rootCa.external ? undefined : c.pki.path;
  return {
    secretMounts: [c.kv.path, ...(rootPki === undefined ? [] : [rootPki]), c.pki_int.path],
    rootPki,
    intermediatePki: c.pki_int.path,
    pkiRoleName: c.role.name,
    certAuthPath: c.certAuth.path,
    certRoleName: c.certRole.name,
    crashplanPolicyName: c.policy.name,
    jwtPath: c.ci.path,
    auditMode: c.audit.mode,
    auditDevicePath: c.audit.mode === "enable" ? "file" : undefined,
  };
}

/** The `ci-policies` command. */
export function ciPoliciesMain(argv: readonly string[], loadSettings: () => KeystoreConfig, io: CommandIo): Promise<number> {
  return runCommand(CI_POLICIES, argv, io, async () => {
    const targets = ciPolicyTargets(loadSettings());
    for (const [name, kind] of [
      [CI_PLAN_ROLE, "plan"],
      [CI_APPLY_ROLE, "apply"],
    ] as const) {
      io.stdout(`# policy ${name}: vault policy write ${name} -\n${renderCiPolicy(ciPolicyRules(targets, kind))}\n`);
    }
    return EXIT.ok;
  });
}
