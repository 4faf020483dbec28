import { readGenerateRoot } from "./backup-readers";
import { VaultEndpoint, vaultCall } from "./client";
import { readErrors, requireSuccess } from "./readers";

/**
 * A root token made with the unseal keys (`sys/generate-root` with a one-time password), as an operator
 * does after a restore. `refused` makes the error for keys the server refuses (the caller's exit code).
 * The keys and the token are never in a message. The caller revokes the token, or keeps it on purpose.
 */
export async function generateRoot(
  endpoint: VaultEndpoint,
  keys: readonly string[],
  source: string,
  refused: (message: string) => Error = (message) => new Error(message),
): Promise<string> {
  // An attempt someone else started is left alone: the server refuses a second one, and the message says so.
  const started = await vaultCall(endpoint, { method: "PUT", path: "sys/generate-root/attempt", body: {} });
  requireSuccess(started, "starting a temporary root token (sys/generate-root/attempt)");
  let status = readGenerateRoot(started);
  const otp = status.otp;
  if (!otp) throw new Error("sys/generate-root/attempt did not return a one-time password");
  for (const key of keys) {
    if (status.complete) break;
    const answer = await vaultCall(endpoint, { method: "PUT", path: "sys/generate-root/update", body: { key, nonce: status.nonce } });
    if (answer.status !== 200) {
      await vaultCall(endpoint, { method: "DELETE", path: "sys/generate-root/attempt" });
      throw refused(`a key from ${source} was refused while making a temporary root token: ${readErrors(answer)}`);
    }
    status = readGenerateRoot(answer);
  }
  if (!status.complete || !status.encodedToken) {
    await vaultCall(endpoint, { method: "DELETE", path: "sys/generate-root/attempt" });
    throw refused(`${source} gave ${keys.length} key(s); a root token needs ${status.required}`);
  }
  // OpenBao's DecodeToken: base64 (no padding) of the token xored with the OTP.
  const encoded = Buffer.from(status.encodedToken.replace(/=+$/, ""), "base64");
  const otpBytes = Buffer.from(otp);
  if (encoded.length !== otpBytes.length) throw new Error("sys/generate-root: the encoded token and the one-time password differ in length");
  return Buffer.from(encoded.map((b, i) => b ^ otpBytes[i])).toString();
}
