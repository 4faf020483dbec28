import { parseDuration } from "../../lib/duration";
import { KeystoreValidationError } from "../../lib/errors";

describe("parseDuration rejects what is not a positive duration", () => {
  test.each(["10 years", "", "   ", "0", "0s", "0h0m", "-5s", "1.5h", "h", "5w", "60 s", "1y"])("%j", (text) => {
    const expected = new RegExp(`^pki_int\\.maxLeaseTtl: ${escape(JSON.stringify(text))} is not a duration; expected a positive Vault duration such as "60s"`);
    expect(() => parseDuration("pki_int.maxLeaseTtl", text)).toThrow(expected);
  });

  test.each([0, -60, 1.5, Number.NaN])("the number %d", (n) => {
    expect(() => parseDuration("certRole.tokenTtl", n)).toThrow(/^certRole\.tokenTtl: .* is not a duration; expected a positive Vault duration/);
  });

  test("throws a KeystoreValidationError carrying setting, value and construct path", () => {
    let error: unknown;
    try {
      parseDuration("pki_int.maxLeaseTtl", "10 years", "keystore/pki_int");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeystoreValidationError);
    const e = error as KeystoreValidationError;
    expect(e.setting).toBe("pki_int.maxLeaseTtl");
    expect(e.received).toBe('"10 years"');
    expect(e.expected).toMatch(/^is not a duration; expected/);
    expect(e.message).toBe(`pki_int.maxLeaseTtl: "10 years" ${e.expected} (at keystore/pki_int)`);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
