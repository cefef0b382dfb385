/** A kernel image that cannot be booted: the message says why, in terms the user can act on. */
export class BootImageError extends Error {
  override readonly name: string = 'BootImageError';
}

export function u32(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

export function u16(b: Uint8Array, off: number): number {
  return b[off] | (b[off + 1] << 8);
}
