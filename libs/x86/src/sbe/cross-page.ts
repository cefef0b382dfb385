import { MAX_INSTRUCTION_LENGTH } from '../decoder/decode-status.js';
import { PAGE_SIZE } from './constants.js';

/**
 * Physical page that holds the code bytes following physical page `page`, or -1 when they cannot be
 * fetched. Without paging that is `page + 1`; with paging the monitor answers from its translation of
 * the next linear page (a not-present page gives -1, and the CPU then fetches the crossing instruction
 * itself and takes the page fault).
 *
 * Blocks that cross keep the answer in `Block.crossPage`: when the translation changes (CR3 load,
 * INVLPG) the monitor either calls `dropCrossPageBlocks()` or compares `crossPage` on entry.
 */
export type NextPageResolver = (page: number) => number;

/** The resolver for physical addressing: the next page in memory, if there is one. */
export function flatNextPage(pageCount: number): NextPageResolver {
  return (page) => (page + 1 < pageCount ? page + 1 : -1);
}

/**
 * A small window that joins the tail of one page and the head of another, so an instruction crossing a
 * page boundary (Bochs' "boundary fetch") decodes in one piece although its two halves lie apart in
 * physical memory.
 */
export class CrossPageWindow {
  /** Tail bytes first, then head bytes; at most 14 + 15. */
  readonly bytes = new Uint8Array(2 * MAX_INSTRUCTION_LENGTH);

  /**
   * Copies `memory[addr .. pageEnd-1]` and the first bytes of the page at `nextBase`, as many as an
   * instruction starting at `addr` could use, and returns how many bytes the window holds.
   */
  fill(memory: Uint8Array, addr: number, pageEnd: number, nextBase: number): number {
    const bytes = this.bytes;
    const tail = pageEnd - addr;
    for (let i = 0; i < tail; i++) bytes[i] = memory[addr + i] as number;
    const head = Math.min(MAX_INSTRUCTION_LENGTH - tail, PAGE_SIZE);
    for (let i = 0; i < head; i++) bytes[tail + i] = memory[nextBase + i] as number;
    return tail + head;
  }
}
