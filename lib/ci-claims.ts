import { KeystoreValidationError } from "./errors";
import { isUnresolvedText } from "./token-text";

/** `ci.provider`: who issues the OIDC tokens CI logs in with, or no CI login at all. */
export const CI_PROVIDERS = ["none", "github", "gitlab"] as const;

/** A CI that issues OIDC tokens. */
export type CiProvider = Exclude<(typeof CI_PROVIDERS)[number], "none">;

/**
 * The text of a CI claim setting (repository, branch, environment,
 * audience): matched exactly, so nothing that reads as a pattern (`*`, `?`,
 * `[`, `{`) and no whitespace. Empty passes: whether it is required depends
 * on `ci.provider`, which {@link CiOidcAuth} checks.
 */
export function checkCiText(setting: string, value: string, constructPath?: string): string {
  if (isUnresolvedText(value) || value === "") return value;
  if (/[*?[\]{}\s]/.test(value)) {
    throw new KeystoreValidationError(
      setting,
      value,
      "holds a wildcard or whitespace; expected the exact value the CI's token carries (bound claims are matched exactly, never as a pattern)",
      constructPath,
    );
  }
  if (value.length > 255) {
    throw new KeystoreValidationError(
      setting,
      `${value.slice(0, 40)}… (${value.length} characters)`,
      "is too long; expected at most 255 characters",
      constructPath,
    );
  }
  return value;
}
