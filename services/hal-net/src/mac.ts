/** Ethernet MAC addresses: six bytes, written as colon-separated hex ("52:54:00:12:34:56"). */

export const MAC_LENGTH = 6;

const MAC_TEXT =
  /^([0-9A-Fa-f]{2}):([0-9A-Fa-f]{2}):([0-9A-Fa-f]{2}):([0-9A-Fa-f]{2}):([0-9A-Fa-f]{2}):([0-9A-Fa-f]{2})$/;

/** The six bytes of a MAC address; throws an Error saying what is wrong. */
export function parseMac(text: string): Uint8Array {
  const m = MAC_TEXT.exec(text);
  if (m === null) throw new Error(`invalid MAC address ${JSON.stringify(text)}: want six colon-separated hex bytes`);
  const mac = new Uint8Array(MAC_LENGTH);
  for (let i = 0; i < MAC_LENGTH; i++) mac[i] = parseInt(m[i + 1] as string, 16);
  return mac;
}

/** Lower-case colon-separated hex of the six bytes at `offset`. */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  let text = '';
  for (let i = 0; i < MAC_LENGTH; i++) {
    if (i > 0) text += ':';
    text += (bytes[offset + i] ?? 0).toString(16).padStart(2, '0');
  }
  return text;
}

/** Group (multicast or broadcast) addresses have the least significant bit of the first byte set. */
export function isGroupMac(bytes: Uint8Array, offset = 0): boolean {
  return ((bytes[offset] ?? 0) & 1) !== 0;
}

/** Whether the six bytes at `offset` of `frame` are `mac`. */
export function macAt(frame: Uint8Array, offset: number, mac: Uint8Array): boolean {
  for (let i = 0; i < MAC_LENGTH; i++) if (frame[offset + i] !== mac[i]) return false;
  return true;
}

/**
 * A MAC address for an interface that has none configured: locally administered and unicast
 * (52:54:00 like QEMU's, then three bytes of an FNV-1a hash of VM and interface), so the same names
 * always give the same address.
 */
export function deriveMac(vm: string, nic: string): string {
  let hash = 0x811c9dc5;
  const text = `${vm}/${nic}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const bytes = new Uint8Array([0x52, 0x54, 0x00, (hash >>> 16) & 0xff, (hash >>> 8) & 0xff, hash & 0xff]);
  return formatMac(bytes);
}
