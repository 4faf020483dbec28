import { Token } from "cdktf";
import { formatHours } from "./duration";
import { KeystoreValidationError } from "./errors";

const MOUNT_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const NAME = /^[A-Za-z0-9_.-]+$/;

/** A Vault mount path: no leading or trailing slash, no empty segment. */
export function checkMountPath(setting: string, value: string, constructPath?: string): string {
  if (Token.isUnresolved(value)) return value;
  if (!MOUNT_PATH.test(value)) {
    throw new KeystoreValidationError(setting, value, 'is not a mount path; expected segments of letters, digits, "_", "-" or "." joined by "/", with no leading or trailing slash, e.g. "pki_int"', constructPath);
  }
  return value;
}

/** A Vault object name (role, policy, cert role): one path segment. */
export function checkName(setting: string, value: string, constructPath?: string): string {
  if (Token.isUnresolved(value)) return value;
  if (!NAME.test(value)) {
    throw new KeystoreValidationError(setting, value, 'is not a name; expected letters, digits, "_", "-" or ".", e.g. "cpRole"', constructPath);
  }
  return value;
}

/** A certificate common name: anything non-blank. */
export function checkCommonName(setting: string, value: string, constructPath?: string): string {
  if (Token.isUnresolved(value)) return value;
  if (value.trim() === "") {
    throw new KeystoreValidationError(setting, value, 'is empty; expected a common name such as "crashplan.example.com"', constructPath);
  }
  return value;
}

/** An http(s) URL with no query or fragment, used as a base for other URLs. */
export function checkBaseUrl(setting: string, value: string, allowHttp: boolean, constructPath?: string): string {
  if (Token.isUnresolved(value)) return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new KeystoreValidationError(setting, value, 'is not a URL; expected e.g. "https://vault.example.com:8200"', constructPath);
  }
  const schemes = allowHttp ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) {
    const expected = allowHttp ? "expected an http:// or https:// URL" : "expected an https:// URL (set allowInsecureHttp only for local development)";
    throw new KeystoreValidationError(setting, value, `has scheme "${url.protocol.replace(":", "")}"; ${expected}`, constructPath);
  }
  if (url.username || url.password) {
    // Never echo a password back onto a terminal or CI log.
    throw new KeystoreValidationError(setting, `${url.protocol}//***@${url.host}`, "has credentials; expected a plain base URL without user or password", constructPath);
  }
  // A bare "?" or "#" leaves url.search/url.hash empty but would still swallow the path appended to it.
  if (/[?#]/.test(value)) {
    throw new KeystoreValidationError(setting, value, "has a query or a fragment; expected a plain base URL", constructPath);
  }
  return value.replace(/\/+$/, "");
}

/**
 * Checks that a TTL fits inside a limit, naming both settings; `received` is
 * the value as the user wrote it.
 */
export function checkTtlWithin(setting: string, received: string, seconds: number, limitSetting: string, limitSeconds: number, constructPath?: string): void {
  if (seconds > limitSeconds) {
    throw new KeystoreValidationError(setting, received, `is longer than ${limitSetting} (${formatHours(limitSeconds)}); expected at most ${formatHours(limitSeconds)}`, constructPath);
  }
}
