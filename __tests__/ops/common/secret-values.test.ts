import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { couldBeSecret, shown } from "../../../ops/common/secret-values";
import { wholeNumber } from "../../../ops/commands/command";

test.each([
  ["an OpenBao unseal key (base64)", "q1XzTUGr6xQ2nNo2UzvcV3xRrwl8fD9WJkVb4q7Cx1M="],
  ["a key with a slash", "Zm9v/YmFyYmF6cXV4MTIzNDU2Nzg5"],
  ["a hex key", "0b5a7e0c2f9d3e4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345"],
  ["a HashiCorp token", "hvs.CAESIJ2xk3lTq0vQbJ8mZ7yPp1sRr4Uu5Ww6Xx7Yy8Zz9Aa0"],
  ["an OpenBao token", "s.2xk3lTq0vQbJ8mZ7yPp1sRr4"],
  ["a generated password", "u7Kp2Qx9Lm4Rt8Vw"],
])("%s could be a secret and is never shown", (_, value) => {
  expect(couldBeSecret(value)).toBe(true);
  expect(shown(value)).toBe(`a value of ${value.length} characters (not shown: it could be a secret)`);
});

test("paths, words and short values are shown, quoted; long ones cut short", () => {
  const dir = mkdtempSync(join(tmpdir(), "c42-secret-values-"));
  try {
    for (const value of ["stray", "b.snap", "/work/keys/unseal.keys", join(dir, "unseal2026keys"), "1 ", "-1", ""]) {
      expect(couldBeSecret(value)).toBe(false);
      expect(shown(value)).toBe(JSON.stringify(value));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(shown("x".repeat(100_000))).toBe(`"${"x".repeat(48)}"… (100000 characters)`);
});

test.each<[string, string]>([
  ["1 ", '--keep: "1 " has spaces around the number; expected 1 to 999999, without spaces'],
  [" 5", '--keep: " 5" has spaces around the number'],
  ["\t5", '--keep: "\\t5" has spaces around the number'],
  ["-1", '--keep: "-1" is not a whole number; expected 1 to 999999'],
  ["1.5", '--keep: "1.5" is not a whole number'],
  ["0x10", '--keep: "0x10" is not a whole number'],
  ["", '--keep: "" is not a whole number'],
  ["0", "--keep: 0 is out of range; expected a whole number from 1 to 999999"],
  ["1000000", "--keep: 1000000 is out of range"],
])("wholeNumber(%j) is refused: %s", (value, message) => {
  expect(() => wholeNumber("--keep", value, { min: 1, max: 999_999 })).toThrow(message);
});

test("wholeNumber takes plain digits within the bounds", () => {
  expect(wholeNumber("--keep", "1", { min: 1, max: 999_999 })).toBe(1);
  expect(wholeNumber("--keep", "014", { min: 1, max: 999_999 })).toBe(14);
  expect(wholeNumber("--users", "0", { min: 0, max: 3 })).toBe(0);
});
