/** Guest pages are 4 KiB; scanned pages, attribute pages and write masks all use this size. */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_OFFSET_MASK = PAGE_SIZE - 1;

/**
 * Write tracking splits a page into 32 chunks of 128 bytes, one bit each in a 32-bit mask (the Bochs
 * page write-stamp idea), so a write to data next to code rarely has to look at the code.
 */
export const CHUNK_SHIFT = 7;
export const CHUNK_SIZE = 1 << CHUNK_SHIFT;

/**
 * Everything besides the bytes that changes how code decodes, i.e. the second half of a scanned page's
 * key. Only the default operand/address size of the code segment does for IA-32: real, protected and
 * virtual-8086 mode decode alike, so they share blocks. CPL, IOPL and EFLAGS.VM decide whether a
 * sensitive instruction may run on the fast path; they are not part of the key, because a block keeps
 * the static table attributes of its instructions and the monitor decides with the live state.
 */
export enum CodeMode {
  /** 16-bit default operand and address size (real mode, v86 mode, 16-bit segments). */
  Bits16 = 0,
  /** 32-bit default operand and address size (CS.D = 1). */
  Bits32 = 1,
}

/** Number of {@link CodeMode} values; scanned pages are indexed by `page * MODE_COUNT + mode`. */
export const MODE_COUNT = 2;

/** Code size the decoder is asked for in a mode. */
export function bitnessOf(mode: CodeMode): 16 | 32 {
  return mode === CodeMode.Bits16 ? 16 : 32;
}
