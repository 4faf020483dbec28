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
  /**
   * Refuse any plan that destroys or replaces the mount (`prevent_destroy`):
   * it holds Code42's archive keys, and without them no archive can be
   * restored. Only `npm run destroy` turns it off, for the one run it needs.
   * @default true
   */
  readonly preventDestroy?: boolean;
}

/**
 * The kv secrets engine, version 1, where Code42 writes archive keys
 * (recipe: `vault secrets enable -path=secret -version=1 kv`). Protected like
 * the root CA: no plan may destroy or replace it (a changed `path` would).
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
      lifecycle: (props.preventDestroy ?? true) ? { preventDestroy: true } : undefined,
    });
    this.path = this.mount.path;
  }
}
