import { BUNDLE_OUTPUTS, NEXT_BUNDLE_OUTPUTS } from "../../../lib/bundle-output-names";
import { bundleToGive } from "../../../ops/bundle/bundle-choice";

const outputs = (names: Record<keyof typeof BUNDLE_OUTPUTS, string>, tag: string) =>
  Object.fromEntries(Object.entries(names).map(([key, name]) => [name, { value: `${tag}-${key}`, sensitive: key === "privateKey" || key === "password" }]));

describe("bundleToGive: the certificate Code42 should use next", () => {
  test("no rotation in progress: the current outputs as they are", () => {
    const current = outputs(BUNDLE_OUTPUTS, "current");
    expect(bundleToGive(current)).toEqual({ outputs: current, which: "current" });
  });

  test("a rotation started: the next certificate's outputs, under the names the bundle writer reads", () => {
    const both = { ...outputs(BUNDLE_OUTPUTS, "current"), ...outputs(NEXT_BUNDLE_OUTPUTS, "next") };
    const choice = bundleToGive(both);
    expect(choice.which).toBe("next");
    expect(choice.outputs).toEqual(outputs(BUNDLE_OUTPUTS, "next"));
  });
});
