import { formatHours, formatProviderDuration, parseDuration } from "../../lib/duration";

describe("parseDuration", () => {
  test.each([
    ["60s", 60],
    ["1m", 60],
    ["8760h", 8760 * 3600],
    ["43800h", 43800 * 3600],
    ["87600h", 315360000],
    ["30d", 30 * 86400],
    ["1h30m", 5400],
    ["1d12h", 36 * 3600],
    ["90", 90],
    [" 8760h ", 8760 * 3600],
  ])("%j is %d seconds", (text, seconds) => {
    expect(parseDuration("x.ttl", text)).toBe(seconds);
  });

  test("accepts a positive whole number of seconds", () => {
    expect(parseDuration("x.ttl", 60)).toBe(60);
  });
});

describe("formatProviderDuration", () => {
  // What the Vault provider reads back for a tune duration: Go's
  // time.Duration.String() without the trailing zero units.
  test.each([
    [5, "5s"],
    [60, "1m"],
    [90, "1m30s"],
    [3600, "1h"],
    [5400, "1h30m"],
    [3605, "1h0m5s"],
    [86400, "24h"],
  ])("%d seconds is %j", (seconds, text) => {
    expect(formatProviderDuration(seconds)).toBe(text);
  });

  test("round-trips through parseDuration", () => {
    for (const seconds of [1, 59, 60, 61, 3599, 3600, 3661, 86400, 315360000]) {
      expect(parseDuration("x", formatProviderDuration(seconds))).toBe(seconds);
    }
  });
});

describe("formatHours", () => {
  test.each([
    [315360000, "87600h"],
    [157680000, "43800h"],
    [3600, "1h"],
    [60, "60s"],
    [90, "90s"],
    [3601, "3601s"],
  ])("%d seconds is %j", (seconds, text) => {
    expect(formatHours(seconds)).toBe(text);
  });
});
