import { CodeAttr } from '../decoder/attributes.js';
import type { Instruction } from '../decoder/instruction.js';
import type { Block } from './block.js';
import { PAGE_OFFSET_MASK, PAGE_SHIFT, PAGE_SIZE } from './constants.js';

/**
 * One attribute byte per byte of a scanned page: what the scanner found there. The attribute page is
 * derived from the page's live blocks (plus the debugger's breakpoints) and rebuilt where blocks drop;
 * it never changes guest memory, so a guest reading its own code sees its own bytes.
 *
 * Read: `(attrs[off] & ByteAttr.INSN_START) !== 0`. Bytes of two blocks that decode the same bytes
 * differently (a jump into the middle of an instruction) carry the bits of both.
 */
export enum ByteAttr {
  /** An instruction of some block starts here. */
  INSN_START = 1 << 0,
  /** The byte belongs to a scanned instruction (the scanned ranges; writes here invalidate). */
  CODE = 1 << 1,
  /** A block starts here: a lookup of this address hits. */
  ENTRY = 1 << 2,
  /** The last instruction of a block starts here. */
  BLOCK_END = 1 << 3,
  /** The instruction starting here is sensitive: it exits to the monitor (plex86 patched an INT3 here). */
  SENSITIVE = 1 << 4,
  /** The instruction starting here is privileged (CPL 0 only); it exits to the monitor as well. */
  PRIVILEGED = 1 << 5,
  /** The debugger set a breakpoint on this address; blocks end before it. */
  BREAKPOINT = 1 << 6,
  /** The instruction starting here continues on the next page of the code. */
  CROSSES_PAGE = 1 << 7,
}

/** Bits that describe blocks, i.e. every bit but the breakpoint (which the debugger owns). */
export const BLOCK_BITS = 0xff & ~ByteAttr.BREAKPOINT;

const SENSITIVE_OR_PRIVILEGED = CodeAttr.SENSITIVE | CodeAttr.PRIVILEGED;

/** A fresh attribute page. */
export function newAttributePage(): Uint8Array {
  return new Uint8Array(PAGE_SIZE);
}

/** Clears the block bits of `attrs[lo .. hi-1]`, keeping breakpoints. */
export function clearBlockBits(attrs: Uint8Array, lo: number, hi: number): void {
  const keep = ByteAttr.BREAKPOINT;
  for (let i = lo; i < hi; i++) attrs[i] = (attrs[i] as number) & keep;
}

/**
 * ORs the marks of `block` into the attribute page of `page` for offsets `lo .. hi-1`. The page is either
 * the block's start page, its cross page, or both (when the code's next page maps back to the same
 * physical page).
 */
export function markBlock(attrs: Uint8Array, page: number, block: Block, lo: number, hi: number): void {
  const startPage = block.physAddr >>> PAGE_SHIFT;
  if (startPage === page) {
    markStartPart(attrs, block, lo, hi);
  }
  if (block.crossPage === page) {
    // Spilled bytes of the crossing instruction: offsets 0 .. spill-1 of the cross page.
    const spill = block.byteLength - (PAGE_SIZE - (block.physAddr & PAGE_OFFSET_MASK));
    const end = spill < hi ? spill : hi;
    for (let i = lo; i < end; i++) attrs[i] = (attrs[i] as number) | ByteAttr.CODE;
  }
}

function markStartPart(attrs: Uint8Array, block: Block, lo: number, hi: number): void {
  let off = block.physAddr & PAGE_OFFSET_MASK;
  if (off >= lo && off < hi) attrs[off] = (attrs[off] as number) | ByteAttr.ENTRY;
  const count = block.count;
  const records = block.instructions;
  for (let i = 0; i < count; i++) {
    const ins = records[i] as Instruction;
    const len = ins.length;
    if (off >= lo && off < hi) {
      let bits = ByteAttr.INSN_START;
      const a = ins.attributes;
      if ((a & SENSITIVE_OR_PRIVILEGED) !== 0) {
        if ((a & CodeAttr.SENSITIVE) !== 0) bits |= ByteAttr.SENSITIVE;
        if ((a & CodeAttr.PRIVILEGED) !== 0) bits |= ByteAttr.PRIVILEGED;
      }
      if (i === count - 1) bits |= ByteAttr.BLOCK_END;
      if (off + len > PAGE_SIZE) bits |= ByteAttr.CROSSES_PAGE;
      attrs[off] = (attrs[off] as number) | bits;
    }
    let from = off > lo ? off : lo;
    const to0 = off + len;
    const to = to0 < hi ? to0 : hi;
    for (; from < to; from++) attrs[from] = (attrs[from] as number) | ByteAttr.CODE;
    off = to0;
  }
}

/** Counts the bytes of `attrs[lo .. hi-1]` that have any of `bits`. */
export function countMarked(attrs: Uint8Array, bits: number, lo = 0, hi = PAGE_SIZE): number {
  let n = 0;
  for (let i = lo; i < hi; i++) if (((attrs[i] as number) & bits) !== 0) n++;
  return n;
}

/** True when some byte of `attrs[lo .. hi-1]` has one of `bits`. */
export function anyMarked(attrs: Uint8Array, bits: number, lo: number, hi: number): boolean {
  for (let i = lo; i < hi; i++) if (((attrs[i] as number) & bits) !== 0) return true;
  return false;
}
