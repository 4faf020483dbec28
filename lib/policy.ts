import { Construct } from "constructs";
import { Policy } from "@cdktf/provider-vault/lib/policy";
import { Token } from "cdktf";
import { CertAuthBackend } from "./cert-auth";
import { KeystoreValidationError } from "./errors";
import { TunedPkiMount } from "./pki-mount";
import { checkName } from "./validation";

/** The capabilities the recipe grants on every path of `crashplanPolicy`. */
export const CRASHPLAN_CAPABILITIES = ["create", "read", "update", "delete", "list"] as const;

const POLICY_PATH = /^[A-Za-z0-9_.\-/+*]+$/;

/** Properties of a {@link CrashplanPolicy}. */
export interface CrashplanPolicyProps {
  /** The PKI mount whose `issue/*` endpoints Code42 may call (the recipe's `pki`). */
  readonly issuingMount: TunedPkiMount;
  /** The cert auth method whose `certs/*` roles Code42 may manage. */
  readonly certAuth: CertAuthBackend;
  /**
   * Policy name.
   * @default "crashplanPolicy"
   */
  readonly name?: string;
  /**
   * More paths granted the same capabilities, e.g. "secret/code42/*".
   * @default - none
   */
  readonly extraPaths?: string[];
}

/**
 * The policy Code42's login carries: create, read, update, delete and list on
 * `<pki>/issue/*`, `sys/policy/*` and `auth/<cert>/certs/*`, rendered from the
 * mounts' real paths so renaming a mount renames the grant.
 */
export class CrashplanPolicy extends Construct {
  /** Policy name, e.g. "crashplanPolicy"; a reference to the policy. */
  public readonly policyName: string;
  /** The granted paths, in order (may hold references to mount paths). */
  public readonly paths: string[];
  /** The policy document (HCL). */
  public readonly document: string;
  /** The underlying `vault_policy`. */
  public readonly policy: Policy;

  public constructor(scope: Construct, id: string, props: CrashplanPolicyProps) {
    super(scope, id);
    const name = checkName(`${id}.name`, props.name ?? "crashplanPolicy", this.node.path);
    const extraPaths = props.extraPaths ?? [];
    extraPaths.forEach((p, i) => {
      if (!Token.isUnresolved(p) && (!POLICY_PATH.test(p) || p.startsWith("/"))) {
        throw new KeystoreValidationError(`${id}.extraPaths[${i}]`, p, 'is not a Vault policy path; expected e.g. "secret/code42/*" (no leading slash, no spaces or quotes)', this.node.path);
      }
    });
    this.paths = [`${props.issuingMount.path}/issue/*`, "sys/policy/*", `auth/${props.certAuth.path}/certs/*`, ...extraPaths];
    this.document = renderPolicy(this.paths);
    this.policy = new Policy(this, "policy", { name, policy: this.document });
    this.policyName = this.policy.name;
  }
}

/** Renders one `path` stanza per path, all with {@link CRASHPLAN_CAPABILITIES}. */
export function renderPolicy(paths: string[]): string {
  const capabilities = CRASHPLAN_CAPABILITIES.map((c) => `"${c}"`).join(", ");
  return paths.map((p) => `path "${p}" {\n  capabilities = [${capabilities}]\n}\n`).join("\n");
}
