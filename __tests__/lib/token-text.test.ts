// lib/token-text.ts answers for strings what cdktf's Token.isUnresolved answers, without loading cdktf (issue 26:
// the commands check settings before any construct exists). Compared here on real tokens of every kind a construct
// can hand a check, on text around them, and on random and near-miss text. Fixed seed, so CI is repeatable.
import fc from "fast-check";
import { Fn, Lazy, TerraformStack, TerraformVariable, Testing, Token } from "cdktf";
import { Mount } from "@cdktf/provider-vault/lib/mount";
import { VaultProvider } from "@cdktf/provider-vault/lib/provider";
import { isUnresolvedText } from "../../lib/token-text";

function realTokens(): string[] {
  const stack = new TerraformStack(Testing.app(), "tokens");
  new VaultProvider(stack, "vault");
  const mount = new Mount(stack, "mount", { path: "pki", type: "pki" });
  const variable = new TerraformVariable(stack, "v", { type: "string" });
  return [
    mount.path,
    mount.accessor,
    variable.stringValue,
    Fn.lower(mount.path),
    Lazy.stringValue({ produce: () => "x" }),
    Token.asString(Token.asNumber(mount.id)),
    Token.asString(Token.asList(mount.path)),
    Token.asString({ resolve: () => "y" }),
    `${mount.path}/issue/*`,
    `auth/${variable.stringValue}/certs/${mount.path}`,
  ];
}

test("on cdktf's own tokens, and on text holding them, the same answer as Token.isUnresolved: unresolved", () => {
  for (const token of realTokens()) {
    expect([token, isUnresolvedText(token)]).toEqual([token, Token.isUnresolved(token)]);
    expect([token, isUnresolvedText(token)]).toEqual([token, true]);
  }
});

test("on plain text, near misses of the marker and random text, the same answer as Token.isUnresolved", () => {
  const nearMisses = [
    "",
    "pki_int",
    "${TfToken[]}",
    "${TfToken[TOKEN 1]}",
    "${TfToken[TOKEN.1]",
    "$TfToken[TOKEN.1]}",
    "#{TfToken[TOKEN.1]}",
    "&{TfToken[TOKEN.1]}",
    "${tftoken[TOKEN.1]}",
    "${TfToken[TOKEN.1]}",
    "a${TfToken[a:b.c_d-e]}b",
    "${var.x}",
    "%{ if true }",
  ];
  for (const text of nearMisses) expect([text, isUnresolvedText(text)]).toEqual([text, Token.isUnresolved(text)]);
  const marker = fc.constantFrom("${TfToken[", "]}", "TOKEN.", "#{TfToken[", "${", "[", "]", "}");
  const pieces = fc.array(fc.oneof(fc.string(), marker, fc.stringMatching(/^[a-zA-Z0-9:._ -]{0,6}$/)), { maxLength: 8 });
  fc.assert(
    fc.property(pieces, (parts) => {
      const text = parts.join("");
      return isUnresolvedText(text) === Token.isUnresolved(text);
    }),
    { seed: 20261206, numRuns: 2000 },
  );
});
