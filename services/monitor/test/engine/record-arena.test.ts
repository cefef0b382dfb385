// The arena of packed records (engine/record-arena.ts): blocks keep their offsets while it grows, and
// when it is full it starts over and the run loop packs each block again before it interprets it.
// The programs give the same transcripts with an arena that starts over every few dozen records.

import { Block, decodeInstruction, DecodeStatus, Instruction } from '@plex86/x86';
import { describe, expect, it } from 'vitest';
import { Packed, PACKED_STRIDE } from '../../src/cpu/exec/packed.js';
import { resolveHandler } from '../../src/engine/engine.js';
import { RecordArena } from '../../src/engine/record-arena.js';
import type { Handler } from '../../src/cpu/exec/table.js';
import { assemble, runKernel } from '../support/programs.js';

/** A block of `count` one-byte records (INC EAX) from IP `ip`. */
function incBlock(ip: number, count: number): { block: Block; handlers: Handler[] } {
  const block = new Block();
  const bytes = new Uint8Array([0x40]);
  const handlers: Handler[] = [];
  for (let i = 0; i < count; i++) {
    const ins = new Instruction();
    expect(decodeInstruction(bytes, 0, 1, ip + i, 32, ins)).toBe(DecodeStatus.Ok);
    block.instructions.push(ins);
    handlers.push(resolveHandler(ins, DecodeStatus.Ok));
  }
  block.count = count;
  return { block, handlers };
}

describe('the record arena', () => {
  it('keeps offsets and records as it grows, then starts over in a new generation', () => {
    const arena = new RecordArena(1 << 17);
    const packed: { block: Block; ip: number }[] = [];
    // 64-record blocks fill the first 2^16 words after 128 of them; the arena doubles once.
    for (let k = 0; k < 200; k++) {
      const ip = 0x10000 + k * 0x100;
      const { block, handlers } = incBlock(ip, 64);
      arena.pack(block, handlers, 64);
      packed.push({ block, ip });
    }
    expect(arena.words.length).toBe(1 << 17);
    expect(arena.restarts).toBe(0);
    for (const { block, ip } of packed) {
      expect(block.packedGen).toBe(0);
      expect(arena.words[block.packedAt + Packed.IP]).toBe(ip);
      expect(arena.words[block.packedAt + 63 * PACKED_STRIDE + Packed.IP]).toBe(ip + 63);
    }
    // 256 blocks fill 2^17 words: the 257th starts a new generation at offset 0.
    for (let k = 200; k < 257; k++) {
      const { block, handlers } = incBlock(0x10000 + k * 0x100, 64);
      arena.pack(block, handlers, 64);
      packed.push({ block, ip: 0x10000 + k * 0x100 });
    }
    const last = (packed.at(-1) as { block: Block }).block;
    expect(arena.restarts).toBe(1);
    expect(arena.gen).toBe(1);
    expect([last.packedAt, last.packedGen]).toEqual([0, 1]);
    expect(arena.words.length).toBe(1 << 17);
    expect(() => arena.pack(new Block(), [], 1 << 15)).toThrow(/do not fit/);
  });

  for (const blocks of ['sbe', 'decode'] as const) {
    for (const program of ['warm-paths', 'paging', 'smc']) {
      it(`runs the ${program} program interpreted with a tiny arena (${blocks} blocks)`, async () => {
        const image = assemble(program);
        const config = { blocks, compileThreshold: Number.MAX_SAFE_INTEGER };
        const reference = await runKernel(image, undefined, undefined, config);
        const tiny = await runKernel(image, undefined, undefined, { ...config, recordArenaWords: 64 * PACKED_STRIDE });
        expect(tiny.output).toBe(reference.output);
        expect([tiny.end, tiny.status, tiny.message]).toEqual([reference.end, reference.status, reference.message]);
        expect(tiny.instructions).toBe(reference.instructions);
        expect(tiny.machine.blocks.records.restarts).toBeGreaterThan(0);
        expect(reference.machine.blocks.records.restarts).toBe(0);
      });
    }
  }
});
