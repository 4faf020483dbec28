import { parseEnvFile } from "../../../ops/common/env-file";

describe("parseEnvFile", () => {
  test("reads KEY=VALUE lines as written, lower-case names (TF_CLI_ARGS_providers_lock) and values with = included", () => {
    const text = "C42_TOFU=/c/bin/tofu\nTF_CLI_ARGS_providers_lock=-fs-mirror=/c/providers\n# a comment\n\nnot a line\n";
    expect(parseEnvFile(text)).toEqual({ C42_TOFU: "/c/bin/tofu", TF_CLI_ARGS_providers_lock: "-fs-mirror=/c/providers" });
  });
});
