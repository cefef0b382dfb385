/** Flat Multiboot (v1) images for the benchmarks that run machine code on the CPU. */

/** Where the image is loaded; the code starts right after the header. */
const LOAD_ADDRESS = 0x100000;
const HEADER_SIZE = 32;
/** The benchmark programs end by writing to this port (QEMU's isa-debug-exit convention). */
export const EXIT_PORT = 0xf4;

/** Wraps code in a flat Multiboot image (header with address fields) that enters it at 1 MiB + 32. */
export function multibootImage(code: number[]): Uint8Array {
  const image = new Uint8Array(HEADER_SIZE + code.length);
  const view = new DataView(image.buffer);
  const magic = 0x1badb002;
  const flags = 0x00010000; // the address fields below are valid
  view.setUint32(0, magic, true);
  view.setUint32(4, flags, true);
  view.setUint32(8, -(magic + flags) >>> 0, true);
  view.setUint32(12, LOAD_ADDRESS, true);
  view.setUint32(16, LOAD_ADDRESS, true);
  view.setUint32(20, 0, true);
  view.setUint32(24, 0, true);
  view.setUint32(28, LOAD_ADDRESS + HEADER_SIZE, true);
  image.set(code, HEADER_SIZE);
  return image;
}
