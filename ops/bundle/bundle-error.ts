/** What a {@link BundleError} is about, for callers that branch on it. */
export type BundleErrorCode =
  // the deployment's outputs
  | "missing-output"
  | "invalid-output"
  | "key-mismatch"
  | "expired"
  | "not-yet-valid"
  | "too-large"
  // the files
  | "exists"
  | "file-system"
  // openssl and the PKCS#12 file
  | "openssl-missing"
  | "openssl-unsupported"
  | "invalid-input"
  | "wrong-password"
  | "openssl-failed";

/** The bundle (or a PKCS#12 file) cannot be written or read; nothing was written. The message says what to do. */
export class BundleError extends Error {
  public readonly code: BundleErrorCode;

  public constructor(code: BundleErrorCode, message: string) {
    super(message);
    this.name = "BundleError";
    this.code = code;
  }
}
