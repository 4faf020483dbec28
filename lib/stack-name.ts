/** The name of the synthesized stack: `cdktf.out/stacks/keystore`. */
export const KEYSTORE_STACK = "keystore";
