import { Construct } from "constructs";
import { Policy } from "@cdktf/provider-vault/lib/policy";
import { ICertAuthBackend, IGrantedPolicy } from "./cert-auth";
import { settingName } from "./errors";
import { IPkiMount } from "./pki-mount";
import { renderPolicy } from "./policy-document";
import { checkPolicyName, checkPolicyPath } from "./validation";

/** Properties of a {@link CrashplanPolicy}. */
export interface CrashplanPolicyProps {
  /**
   * The PKI mount whose `issue/*` endpoints Code42 may call (the recipe's `pki`).
   * @default - no `issue/*` grant at all
   */
  readonly issuingMount?: IPkiMount;
  /** The cert auth method whose `certs/*` roles Code42 may manage. */
  readonly certAuth: ICertAuthBackend;
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
 * mounts' real paths so renaming a mount renames the grant. Without an
 * issuing mount (the root is outside Vault) there is no `issue/*` grant: the
 * recipe's grant names the root's mount, where no role exists, so it never let
 * Code42 issue anything, and granting `pki_int/issue/*` instead would let it
 * mint certificates that chain to the user's own root.
 */
export class CrashplanPolicy extends Construct implements IGrantedPolicy {
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
    const name = checkPolicyName(settingName(this, "name"), props.name ?? "crashplanPolicy", this.node.path);
    const extraPaths = props.extraPaths ?? [];
    extraPaths.forEach((p, i) => checkPolicyPath(`${settingName(this, "extraPaths")}[${i}]`, p, this.node.path));
    const issuing = props.issuingMount ? [`${props.issuingMount.path}/issue/*`] : [];
    this.paths = [...issuing, "sys/policy/*", `auth/${props.certAuth.path}/certs/*`, ...extraPaths];
    this.document = renderPolicy(this.paths);
    this.policy = new Policy(this, "policy", { name, policy: this.document });
    this.policyName = this.policy.name;
  }
}
