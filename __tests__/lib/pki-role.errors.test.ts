import { Testing } from "cdktf";
import { issuingRoleInScope } from "../helpers/scopes";

const build = (name: string) => () =>
  Testing.synthScope((scope) => {
    issuingRoleInScope(scope, { roleName: name });
  });

describe("IssuingRole rejects a bad name", () => {
  test("with a space", () => {
    expect(build("cp role")).toThrow(/^role\.name: "cp role" is not a name; expected letters, digits, "_", "-" or "\.", e\.g\. "cpRole" \(at stack\/role\)$/);
  });

  test("with a slash", () => {
    expect(build("roles/cpRole")).toThrow(/^role\.name: "roles\/cpRole" is not a name; expected/);
  });

  test("empty", () => {
    expect(build("")).toThrow(/^role\.name: "" is not a name; expected/);
  });
});
