import { Construct } from "constructs";
import { Mount } from "@cdktf/provider-vault/lib/mount";
import { settingName } from "./errors";
import { checkMountPath } from "./validation";

/** Properties of a {@link KvV1Mount}. */
export interface KvV1MountProps {
  /**
   * Where the kv engine is mounted.
   * @default "secret"
   */
  readonly path?: string;
  /**
   * Mount description shown by `vault secrets list`.
   * @default "Code42 keystore secrets (kv version 1)"
   */
  readonly description?: string;
}

/**
 * The kv secrets engine, version 1, where Code42 writes archive keys
 * (recipe: `vault secrets enable -path=secret -version=1 kv`).
 */
export class KvV1Mount extends Construct {
  /** Mount path, e.g. "secret". */
  public readonly path: string;
  /** The underlying `vault_mount`. */
  public readonly mount: Mount;

  public constructor(scope: Construct, id: string, props: KvV1MountProps = {}) {
    super(scope, id);
    const path = checkMountPath(settingName(this, "path"), props.path ?? "secret", this.node.path);
    this.mount = new Mount(this, "mount", {
      path,
      type: "kv",
      options: { version: "1" },
      description: props.description ?? "Code42 keystore secrets (kv version 1)",
    });
    this.path = this.mount.path;
  }
}
