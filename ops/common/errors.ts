/** The message of anything thrown. Not `instanceof Error`: errors from another realm (a vm context, jest) fail that test. */
export function errorMessage(err: unknown): string {
  return typeof err === "object" && err !== null && "message" in err ? String(err.message) : String(err);
}
