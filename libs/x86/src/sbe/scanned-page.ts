import type { Block } from './block.js';
import { CodeMode, PAGE_SIZE } from './constants.js';

/**
 * Everything the SBE knows about one physical page decoded in one mode: the attribute page, an entry
 * index (page offset to block) and the blocks. Blocks that start on another page and spill into this
 * one are listed in `crossIn`, so a write here finds them too.
 */
export class ScannedPage {
  /** Physical page number, -1 while the record waits for reuse. */
  page = -1;
  mode: CodeMode = CodeMode.Bits32;
  /** {@link ByteAttr} bits per byte. */
  readonly attrs = new Uint8Array(PAGE_SIZE);
  /** Per page offset: 1 + slot of the block starting there, 0 for none. */
  readonly entries = new Uint16Array(PAGE_SIZE);
  /** Blocks starting on this page, by slot; dropped blocks leave a null until the slot is reused. */
  readonly blocks: (Block | null)[] = [];
  readonly freeSlots: number[] = [];
  /** Live blocks in `blocks`. */
  blockCount = 0;
  /** Instruction records held by the live blocks in `blocks`. */
  instructionCount = 0;
  /** Live blocks that start elsewhere and cover bytes of this page. */
  readonly crossIn: Block[] = [];
  /**
   * Per 128-byte chunk: the live blocks (own or cross-in) with bytes in it, so a write looks only at the
   * blocks of the chunks it touches.
   */
  readonly chunkBlocks: Block[][] = Array.from({ length: 32 }, () => []);
  /** Chunks with blocks: this page's share of the physical page's write mask. */
  codeMask = 0;
  /** Used since the eviction hand last passed (the CLOCK "second chance" bit). */
  referenced = false;
  /** Index in the cache's resident list. */
  residentIndex = -1;
  /** Range of `attrs` to rebuild after blocks dropped (empty when lo >= hi). */
  dirtyLo = PAGE_SIZE;
  dirtyHi = 0;

  /** Widens the range of `attrs` that needs rebuilding. */
  touch(lo: number, hi: number): void {
    if (lo < this.dirtyLo) this.dirtyLo = lo;
    if (hi > this.dirtyHi) this.dirtyHi = hi;
  }

  /** Files a block under the chunks in `mask`. */
  addChunks(block: Block, mask: number): void {
    this.codeMask = (this.codeMask | mask) >>> 0;
    const lists = this.chunkBlocks;
    for (let m = mask; m !== 0; m &= m - 1) (lists[31 - Math.clz32(m & -m)] as Block[]).push(block);
  }

  /** Takes a block out of the chunks in `mask`. */
  removeChunks(block: Block, mask: number): void {
    const lists = this.chunkBlocks;
    for (let m = mask; m !== 0; m &= m - 1) {
      const bit = 31 - Math.clz32(m & -m);
      const list = lists[bit] as Block[];
      const i = list.lastIndexOf(block);
      if (i < 0) continue;
      list[i] = list[list.length - 1] as Block;
      list.pop();
      if (list.length === 0) this.codeMask = (this.codeMask & ~(1 << bit)) >>> 0;
    }
  }

  /** Puts a block in a free slot and indexes its entry offset; returns the slot. */
  addBlock(block: Block, offset: number): number {
    const slot = this.freeSlots.length > 0 ? (this.freeSlots.pop() as number) : this.blocks.length;
    this.blocks[slot] = block;
    this.entries[offset] = slot + 1;
    this.blockCount++;
    this.instructionCount += block.count;
    return slot;
  }

  /** Takes a block out of its slot and the entry index. */
  removeBlock(block: Block, offset: number): void {
    this.blocks[block.slot] = null;
    this.freeSlots.push(block.slot);
    if (this.entries[offset] === block.slot + 1) this.entries[offset] = 0;
    this.blockCount--;
    this.instructionCount -= block.count;
  }

  /** Takes a block out of `crossIn`. */
  removeCrossIn(block: Block): void {
    const list = this.crossIn;
    const i = list.indexOf(block);
    if (i < 0) return;
    list[i] = list[list.length - 1] as Block;
    list.pop();
  }

  /** Makes the record ready for another page (all blocks must be gone). */
  reset(): void {
    this.page = -1;
    this.attrs.fill(0);
    this.entries.fill(0);
    this.blocks.length = 0;
    this.freeSlots.length = 0;
    this.blockCount = 0;
    this.instructionCount = 0;
    this.crossIn.length = 0;
    for (const list of this.chunkBlocks) list.length = 0;
    this.codeMask = 0;
    this.referenced = false;
    this.residentIndex = -1;
    this.dirtyLo = PAGE_SIZE;
    this.dirtyHi = 0;
  }
}
