/**
 * cdktf's marker of a string token (`${TfToken[TOKEN.12]}`), as
 * node_modules/cdktf/lib/tokens/private/encoding.js writes and finds it
 * (BEGIN_STRING_TOKEN_MARKER, VALID_KEY_CHARS, END_TOKEN_MARKER).
 */
const STRING_TOKEN = /\$\{TfToken\[[a-zA-Z0-9:._-]+\]\}/;

/**
 * Whether a string holds a cdktf token: a value known only at apply time,
 * which the checks leave to the engine. The same answer as cdktf's
 * `Token.isUnresolved` gives for a string (a unit test compares them), without
 * loading cdktf: the commands check settings with it before any construct
 * exists, and a command whose synthesized JSON is reused loads no cdktf at all.
 */
export function isUnresolvedText(value: string): boolean {
  return STRING_TOKEN.test(value);
}
