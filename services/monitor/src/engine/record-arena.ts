/**
 * The packed records (cpu/exec/packed.ts) of every block a source holds, in one Int32Array: a block
 * keeps the offset of its records (`Block.packedAt`) and the generation it was packed in
 * (`Block.packedGen`). With an Int32Array per block, every block the interpreter entered cost a cache
 * miss on that array's header before the one on its records; the arena's header stays in cache.
 *
 * Blocks are packed one after another. The arena doubles while it is below its cap; at the cap it
 * starts over, as QEMU flushes its translation buffer: a new generation, in which a block packed in
 * an older one is packed again the next time it runs. Only packing moves the arena on, and the run
 * loop packs between blocks, never while the interpreter is in one.
 */

import { type Block, type Instruction } from '@plex86/x86';
import { packedTwin } from '../cpu/exec/fast.js';
import { packRecord, PACKED_SHIFT, routineId } from '../cpu/exec/packed.js';
import type { Handler } from '../cpu/exec/table.js';

/** Words at first: 8192 records. */
const INITIAL_WORDS = 1 << 16;
/** Words at most: 1 Mi records, 32 MiB. */
export const MAX_ARENA_WORDS = 1 << 23;

export class RecordArena {
  /** The records; replaced by a larger copy when the arena grows (offsets stay). */
  words: Int32Array;
  /** Bumped when the arena starts over: offsets of older generations are void. */
  gen = 0;
  /** Times the arena started over. */
  restarts = 0;
  private top = 0;

  constructor(private readonly maxWords = MAX_ARENA_WORDS) {
    this.words = new Int32Array(Math.min(INITIAL_WORDS, maxWords));
  }

  /**
   * Packs `count` records of `block` with their handlers (or a specialised handler's packed twin,
   * where the handler is the record's specialised one) and returns their offset.
   */
  pack(block: Block, handlers: readonly Handler[], count: number): number {
    const at = this.allocate(count << PACKED_SHIFT);
    const words = this.words;
    const records = block.instructions;
    for (let i = 0; i < count; i++) {
      const ins = records[i] as Instruction;
      const handler = handlers[i] as Handler;
      packRecord(ins, routineId(packedTwin(handler, ins) ?? handler), words, at + (i << PACKED_SHIFT));
    }
    block.packedAt = at;
    block.packedGen = this.gen;
    return at;
  }

  /** One line of figures for --stats. */
  describe(): string {
    const words = this.words.length;
    return `${this.top >> PACKED_SHIFT} records packed in an arena of ${words >> PACKED_SHIFT} (${(words / (1 << 18)).toFixed(1)} MiB), started over ${this.restarts} times`;
  }

  private allocate(size: number): number {
    if (size > this.maxWords) throw new RangeError(`${size} words do not fit an arena of ${this.maxWords}`);
    if (this.top + size > this.words.length) {
      if (this.words.length < this.maxWords) {
        let length = this.words.length;
        while (length < this.top + size && length < this.maxWords) length *= 2;
        const grown = new Int32Array(Math.min(length, this.maxWords));
        grown.set(this.words.subarray(0, this.top));
        this.words = grown;
      }
      if (this.top + size > this.words.length) {
        this.gen++;
        this.restarts++;
        this.top = 0;
      }
    }
    const at = this.top;
    this.top += size;
    return at;
  }
}
