import { describe, expect, it } from 'vitest';
import { chunkMask, CodeWriteTracker } from './code-write-tracker.js';

describe('chunkMask', () => {
  it('sets one bit per 128-byte chunk touched', () => {
    expect(chunkMask(0, 1)).toBe(0b1);
    expect(chunkMask(127, 128)).toBe(0b1);
    expect(chunkMask(127, 129)).toBe(0b11);
    expect(chunkMask(128, 256)).toBe(0b10);
    expect(chunkMask(0x100, 0x181)).toBe(0b1100);
  });

  it('handles the last chunk and the whole page without sign trouble', () => {
    expect(chunkMask(4095, 4096)).toBe(0x80000000);
    expect(chunkMask(0, 4096)).toBe(0xffffffff);
    expect(chunkMask(3968, 4096)).toBe(0x80000000);
    expect(chunkMask(128, 4096)).toBe(0xfffffffe);
  });
});

describe('CodeWriteTracker', () => {
  it('answers from the page mask, across page boundaries and outside memory', () => {
    const t = new CodeWriteTracker(4);
    t.masks[2] = 0b100;
    expect(t.hasCode(1)).toBe(false);
    expect(t.hasCode(2)).toBe(true);
    expect(t.hasCode(99)).toBe(false);
    expect(t.mayHitCode(0x2000, 4)).toBe(true);
    expect(t.mayHitCode(0x1000, 4)).toBe(false);
    expect(t.mayHitCode(0x1ffe, 4)).toBe(true); // crosses into page 2
    expect(t.mayHitCode(0x0, 0x4000)).toBe(true);
    expect(t.mayHitCode(0x3000, 0x10000)).toBe(false);
    expect(t.mayHitCode(0x100000, 4)).toBe(false);
    expect(t.mayHitCode(0x2000, 0)).toBe(false);
    expect(t.mayHitCode(-8, 4)).toBe(false);
  });

  it('keeps its masks in storage the caller gives, of exactly one word per page', () => {
    const storage = new Uint32Array(8).subarray(2, 6);
    const t = new CodeWriteTracker(4, storage);
    t.masks[1] = 1;
    expect(storage[1]).toBe(1);
    expect(t.mayHitCode(0x1000, 4)).toBe(true);
    expect(() => new CodeWriteTracker(5, storage)).toThrow(/needs 5 words, got 4/);
  });
});
