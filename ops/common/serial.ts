/** A certificate serial number as Vault writes it: lower-case hex byte pairs joined by colons (`1a:2b:…`). */
export function colonHex(hex: string): string {
  const even = hex.length % 2 === 0 ? hex : `0${hex}`;
  return even.toLowerCase().match(/../g)?.join(":") ?? "";
}
