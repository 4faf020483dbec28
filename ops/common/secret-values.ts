import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/*
 * How a value from the command line (or the environment) appears in a message. Every message that repeats
 * such a value goes through {@link shown}, so no command echoes what could be a secret typed in the wrong
 * place, and none prints a value of 100,000 characters back.
 */

/** The longest command-line value a message repeats in full. */
const SHOWN_MAX = 64;

/**
 * Whether a command-line value looks like a secret: a Vault token, or a run of 16 or more base64 or hex
 * characters with letters and digits (an unseal key, a password). Messages never repeat such a value:
 * a mistyped `--unseal-keys <key>` would otherwise land in cron mail and the journal.
 */
export function couldBeSecret(value: string): boolean {
  if (/^(hv[sbr]|[sbr])\.[A-Za-z0-9_-]{16,}$/.test(value)) return true;
  return /^[A-Za-z0-9+/=_-]{16,}$/.test(value) && /[0-9]/.test(value) && /[A-Za-z]/.test(value) && !inExistingDirectory(value);
}

/**
 * A value with a "/" whose directory exists (other than "/" itself) is a path, not a key: base64 has "/"
 * too, but the part before a key's last "/" is not a directory on this host.
 */
function inExistingDirectory(value: string): boolean {
  if (!value.includes("/")) return false;
  const parent = dirname(resolve(value));
  try {
    return parent !== "/" && statSync(parent).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A command-line value as a message shows it: quoted, cut short when long (an ID of 100,000 characters
 * is not echoed in full), and not at all when it could be a secret ({@link couldBeSecret}).
 */
export function shown(value: string): string {
  if (couldBeSecret(value)) return `a value of ${value.length} characters (not shown: it could be a secret)`;
  if (value.length > SHOWN_MAX) return `${JSON.stringify(value.slice(0, SHOWN_MAX - 16))}… (${value.length} characters)`;
  return JSON.stringify(value);
}
