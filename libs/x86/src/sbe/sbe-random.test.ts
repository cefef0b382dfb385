import { describe, expect, it } from 'vitest';
import { Decoder } from '../decoder/decoder.js';
import type { Instruction } from '../decoder/instruction.js';
import type { Block } from './block.js';
import { CodeMode, PAGE_SIZE } from './constants.js';
import { sameOperands } from './invariants.js';
import { ScannedPageCache } from './scanned-page-cache.js';
import { xorshift32 } from '../testing/random.js';

/** Seeded numbers below n, so a failure reproduces. */
function rng(seed: number): (n: number) => number {
  const next = xorshift32(seed);
  return (n) => next() % n;
}

// Bytes that decode to a mix of lengths and kinds: inc/dec, nop, mov r,imm, add eax,imm, 66 prefix,
// short jumps, ret, cli (sensitive), hlt (privileged), lock (often invalid), modrm forms.
const ALPHABET = [
  0x40, 0x41, 0x48, 0x4b, 0x90, 0x90, 0xb8, 0xb9, 0x05, 0x66, 0xeb, 0xc3, 0xfa, 0xf4, 0xf0, 0x89, 0x8b, 0x00, 0x45,
  0x04, 0x24, 0x0f,
];

function randomCode(memory: Uint8Array, next: (n: number) => number, from: number, to: number): void {
  for (let i = from; i < to; i++) memory[i] = ALPHABET[next(ALPHABET.length)] as number;
}

function shape(b: Block | null): unknown {
  if (b === null) return null;
  return {
    count: b.count,
    byteLength: b.byteLength,
    endReason: b.endReason,
    crossPage: b.crossPage,
    codes: b.instructions.slice(0, b.count).map((i) => [i.code, i.length, i.ip]),
  };
}

/** The two blocks decode alike, operand values included (only where the operand kinds define them). */
function sameRecords(a: Block | null, b: Block | null): boolean {
  if (a === null || b === null) return a === b;
  for (let i = 0; i < a.count; i++) {
    const x = a.instructions[i] as Instruction;
    const y = b.instructions[i] as Instruction;
    if (x.code !== 0 && !sameOperands(x, y)) return false;
  }
  return true;
}

describe('random lookups, writes, DMA and breakpoints', () => {
  it(
    'always return what a fresh scan of the current bytes returns, with every invariant intact',
    { timeout: 30_000 },
    () => {
      const pages = 6;
      const memory = new Uint8Array(pages * PAGE_SIZE);
      const next = rng(0x5be5ca11);
      randomCode(memory, next, 0, memory.length);
      // Page 3 continues on page 5 (as if mapped so), everything else on the next page.
      const nextPage = (page: number) => (page === 3 ? 5 : page + 1 < pages ? page + 1 : -1);
      const options = { memory, decoder: new Decoder(), nextPage, maxBlockInstructions: 12 };
      const cache = new ScannedPageCache({ ...options, maxPages: 8, maxInstructions: 200 });
      const fresh = new ScannedPageCache({ ...options });
      // Concentrate the traffic on a few hot spots near page ends, so blocks overlap and cross pages.
      const hot = [0x0ff0, 0x1000, 0x1ff4, 0x2100, 0x3ff8, 0x5000, 0x4f00, 0x5fe8];
      const address = () => ((hot[next(hot.length)] as number) + next(8)) % memory.length;
      let checked = 0;
      for (let step = 0; step < 1500; step++) {
        const op = next(100);
        if (op < 70) {
          const addr = address();
          const mode = next(2) as CodeMode;
          // The IP is a function of the address (one linear mapping); 16-bit code wraps its IP near the top.
          const ip = mode === CodeMode.Bits16 ? (addr + 0xa000) & 0xffff : addr + 0x10000;
          const got = cache.lookup(addr, mode, ip);
          fresh.flush();
          const want = fresh.lookup(addr, mode, ip);
          expect(shape(got), `step ${step}: lookup ${addr.toString(16)} mode ${mode}`).toEqual(shape(want));
          expect(sameRecords(got, want), `step ${step}: operands at ${addr.toString(16)}`).toBe(true);
          checked++;
        } else if (op < 85) {
          const addr = address();
          const len = 1 + next(4);
          randomCode(memory, next, addr, Math.min(addr + len, memory.length));
          cache.notifyWrite(addr, len);
        } else if (op < 87) {
          const addr = next(memory.length);
          const len = 1 + next(2 * PAGE_SIZE);
          randomCode(memory, next, addr, Math.min(addr + len, memory.length));
          cache.notifyWrite(addr, len);
        } else if (op < 93) {
          const addr = address();
          if (next(2) === 0) {
            cache.setBreakpoint(addr);
            fresh.setBreakpoint(addr);
          } else {
            cache.clearBreakpoint(addr);
            fresh.clearBreakpoint(addr);
          }
        } else if (op < 96) {
          cache.dropCrossPageBlocks();
        } else if (op < 97) {
          cache.flush();
        } else {
          // A write that lands in a code chunk but outside any block (never a stale block afterwards).
          cache.notifyWrite(address(), 0);
        }
        // The full checker (which re-decodes every block) every few steps keeps the test quick.
        if (step % 3 === 0) cache.checkInvariants();
      }
      cache.checkInvariants();
      expect(checked).toBeGreaterThan(1000);
      const s = cache.stats;
      // The run must have exercised every path it is meant to test.
      expect(s.hits).toBeGreaterThan(100);
      expect(s.invalidations).toBeGreaterThan(50);
      expect(s.evictions).toBeGreaterThan(10);
      expect(s.breakpointDrops).toBeGreaterThan(0);
      expect(s.codeWrites).toBeGreaterThan(s.invalidations / 4);
    },
  );
});
