import { formatHours } from "./duration";
import { KeystoreValidationError } from "./errors";
import { isUnresolvedText } from "./token-text";

const MOUNT_SEGMENT = /^[A-Za-z0-9_.-]+$/;
const NAME = /^[A-Za-z0-9_.-]+$/;
// RFC 3986's characters, with "%" only as the start of an escape.
const URL_TEXT = /^([A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
// Vault policy paths: plain segments, "+" for one whole segment, "*" only at the very end.
const POLICY_PATH = /^([A-Za-z0-9_.-]+|\+)(\/([A-Za-z0-9_.-]+|\+))*\/?\*?$|^\*$/;

/** Longest mount path or object name this project writes (Vault stores both in one path segment or a few). */
export const MAX_NAME_LENGTH = 128;
/** X.509 `ub-common-name`: a CN longer than 64 characters does not fit the certificate's subject. */
export const MAX_COMMON_NAME_LENGTH = 64;

/** Secrets-engine paths Vault keeps for itself. */
export const RESERVED_SECRET_MOUNTS: readonly string[] = ["sys", "auth", "identity", "cubbyhole"];
/** Auth-method paths Vault keeps for itself (under `auth/`). */
export const RESERVED_AUTH_MOUNTS: readonly string[] = ["token"];
/**
 * Policy names Vault keeps for itself: writing `root` fails after the old
 * policy was already destroyed, and `default` is attached to every token, so
 * overwriting it would hand the crashplanPolicy grants to everyone. Vault
 * lower-cases policy names, so the comparison ignores case.
 */
export const RESERVED_POLICY_NAMES: readonly string[] = ["root", "default", "response-wrapping", "control-group"];

/** A Vault mount path: no leading or trailing slash, no empty, "." or ".." segment. */
export function checkMountPath(setting: string, value: string, constructPath?: string): string {
  if (isUnresolvedText(value)) return value;
  checkLength(setting, value, MAX_NAME_LENGTH, constructPath);
  const segments = value.split("/");
  if (!segments.every((s) => MOUNT_SEGMENT.test(s) && s !== "." && s !== "..")) {
    throw new KeystoreValidationError(
      setting,
      value,
      'is not a mount path; expected segments of letters, digits, "_", "-" or "." (no "." or ".." segment) joined by "/", with no leading or trailing slash, e.g. "pki_int"',
      constructPath,
    );
  }
  return value;
}

/** A mount path that is not one of Vault's own (`reserved`, compared by first segment). */
export function checkUnreservedMount(setting: string, value: string, reserved: readonly string[], constructPath?: string): string {
  checkMountPath(setting, value, constructPath);
  if (isUnresolvedText(value)) return value;
  const first = value.split("/")[0];
  if (reserved.includes(first)) {
    const where = value === first ? `is a path Vault reserves for itself` : `lies under "${first}/", which Vault reserves for itself`;
    throw new KeystoreValidationError(
      setting,
      value,
      `${where}; expected a path outside ${reserved.map((r) => `"${r}"`).join(", ")}, e.g. "secret" or "pki"`,
      constructPath,
    );
  }
  return value;
}

/** A Vault object name (role, policy, cert role): one path segment. */
export function checkName(setting: string, value: string, constructPath?: string): string {
  if (isUnresolvedText(value)) return value;
  checkLength(setting, value, MAX_NAME_LENGTH, constructPath);
  if (!NAME.test(value) || value === "." || value === "..") {
    throw new KeystoreValidationError(setting, value, 'is not a name; expected letters, digits, "_", "-" or ".", e.g. "cpRole"', constructPath);
  }
  return value;
}

/** A policy name that is a name and not one of Vault's built-in policies. */
export function checkPolicyName(setting: string, value: string, constructPath?: string): string {
  checkName(setting, value, constructPath);
  if (!isUnresolvedText(value) && RESERVED_POLICY_NAMES.includes(value.toLowerCase())) {
    throw new KeystoreValidationError(
      setting,
      value,
      `is one of Vault's built-in policies (${RESERVED_POLICY_NAMES.join(", ")}; Vault ignores case); expected a name of its own, e.g. "crashplanPolicy"`,
      constructPath,
    );
  }
  return value;
}

/**
 * A certificate common name: not blank, at most 64 characters (X.509), and
 * plain text: no control characters and no `${` or `%{`, which the engine
 * would evaluate as an expression or a directive.
 */
export function checkCommonName(setting: string, value: string, constructPath?: string): string {
  if (isUnresolvedText(value)) return value;
  if (value.trim() === "") {
    throw new KeystoreValidationError(setting, value, 'is empty; expected a common name such as "crashplan.example.com"', constructPath);
  }
  checkLength(setting, value, MAX_COMMON_NAME_LENGTH, constructPath, " (the X.509 limit for a common name)");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value) || /[$%]\{/.test(value)) {
    throw new KeystoreValidationError(
      setting,
      value,
      'holds a control character, "${" or "%{"; expected plain text such as "crashplan.example.com"',
      constructPath,
    );
  }
  return value;
}

/**
 * A Vault policy path granted to Code42: segments of letters, digits, "_",
 * "-" or ".", "+" for one whole segment, "*" only at the end; nothing that
 * could close the `path "…" {` stanza it is written into.
 */
export function checkPolicyPath(setting: string, value: string, constructPath?: string): string {
  if (isUnresolvedText(value)) return value;
  checkLength(setting, value, 256, constructPath);
  const segments = value.replace(/\/?\*$/, "").split("/");
  if (!POLICY_PATH.test(value) || segments.some((s) => s === "." || s === "..")) {
    throw new KeystoreValidationError(
      setting,
      value,
      'is not a Vault policy path; expected e.g. "secret/code42/*" (no leading slash, no spaces or quotes)',
      constructPath,
    );
  }
  return value;
}

/**
 * What a granted policy path covers when it reaches beyond one application's
 * data: every path (`*`, `+` or a glob in the first segment), or all of Vault's
 * own configuration (`sys/…`, `auth/…` with a glob in the second segment).
 * Returns the description, or undefined for an ordinary path.
 */
export function broadPolicyPathReach(path: string): string | undefined {
  const [first, second] = path.split("/");
  if (first === "+" || first.includes("*")) return "every path on the server";
  if ((first === "sys" || first === "auth") && (second === undefined || second === "+" || second.startsWith("*") || second === "")) {
    return first === "sys"
      ? "every path under sys/ (the server's whole configuration: mounts, policies, audit, seal)"
      : "every auth method under auth/ (including who may log in and with which policies)";
  }
  return undefined;
}

/** An http(s) URL with no query or fragment, used as a base for other URLs. */
export function checkBaseUrl(setting: string, value: string, allowHttp: boolean, constructPath?: string): string {
  if (isUnresolvedText(value)) return value;
  const url = checkUrlText(setting, value, 'expected e.g. "https://vault.example.com:8200"', constructPath);
  const schemes = allowHttp ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) {
    const expected = allowHttp ? "expected an http:// or https:// URL" : "expected an https:// URL (set allowInsecureHttp only for local development)";
    throw new KeystoreValidationError(setting, value, `has scheme "${url.protocol.replace(":", "")}"; ${expected}`, constructPath);
  }
  if (url.username || url.password) {
    // Never echo a password back onto a terminal or CI log.
    throw new KeystoreValidationError(
      setting,
      `${url.protocol}//***@${url.host}`,
      "has credentials; expected a plain base URL without user or password",
      constructPath,
    );
  }
  // A bare "?" or "#" leaves url.search/url.hash empty but would still swallow the path appended to it.
  if (/[?#]/.test(value)) {
    throw new KeystoreValidationError(setting, value, "has a query or a fragment; expected a plain base URL", constructPath);
  }
  return value.replace(/\/+$/, "");
}

/**
 * A URL written exactly as it is sent: it parses, and it is already in the
 * encoded form a URL parser produces (no spaces, braces, quotes or other
 * characters that would need escaping), so what is written is what is used.
 */
export function checkUrlText(setting: string, value: string, example: string, constructPath?: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new KeystoreValidationError(setting, value, `is not a URL; ${example}`, constructPath);
  }
  if (value.length > 2048 || !URL_TEXT.test(value)) {
    throw new KeystoreValidationError(
      setting,
      value,
      `is not a plain encoded URL (at most 2048 characters; spaces, quotes, braces and the like must be percent-encoded); ${example}`,
      constructPath,
    );
  }
  return url;
}

/** Refuses a value longer than `max`, showing only its start and its length. */
export function checkLength(setting: string, value: string, max: number, constructPath?: string, why = ""): void {
  if (value.length > max) {
    throw new KeystoreValidationError(
      setting,
      `${value.slice(0, 40)}… (${value.length} characters)`,
      `is too long; expected at most ${max} characters${why}`,
      constructPath,
    );
  }
}

/**
 * Checks that a TTL fits inside a limit, naming both settings; `received` is
 * the value as the user wrote it.
 */
export function checkTtlWithin(setting: string, received: string, seconds: number, limitSetting: string, limitSeconds: number, constructPath?: string): void {
  if (seconds > limitSeconds) {
    throw new KeystoreValidationError(
      setting,
      received,
      `is longer than ${limitSetting} (${formatHours(limitSeconds)}); expected at most ${formatHours(limitSeconds)}`,
      constructPath,
    );
  }
}
