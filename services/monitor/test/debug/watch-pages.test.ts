/**
 * The MMU side of read and access watchpoints: a watched linear page is filled with the slow bits its
 * watch needs (whatever physical page it maps to), other pages keep the fast path, and changing a
 * page's watch drops its translation so the next fill sees the change.
 */
import { describe, expect, it } from 'vitest';
import { Mmu, TlbBit, WatchPage } from '../../src/cpu/paging.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';

const SLOW = TlbBit.READ_SLOW | TlbBit.WRITE_SLOW;

function pagedMmu(): Mmu {
  const mem = new PhysicalMemory({ ramSize: 16 << 20 });
  const mmu = new Mmu(mem);
  mmu.configure({ paging: true, writeProtect: false, pse: false, pge: false, cr3: 0x10000 });
  // Linear pages 1 and 2 map to physical 0x31000 and 0x30000 (crossed over, so linear is what counts).
  mem.write32(0x10000, 0x11000 | 0x7);
  mem.write32(0x11004, 0x31000 | 0x7);
  mem.write32(0x11008, 0x30000 | 0x7);
  return mmu;
}

describe('watched pages in the MMU', () => {
  it('fills watched linear pages with the slow bits of their watch and leaves the others fast', () => {
    const mmu = pagedMmu();
    expect(mmu.translate(0x1010, true, false)).toBe(0x31010);
    expect(mmu.translate(0x2010, true, false)).toBe(0x30010);
    expect(mmu.tlb[1] & SLOW).toBe(0);

    mmu.setWatchPage(1, WatchPage.READ);
    // The page lost its translation; the neighbour kept its own.
    expect(mmu.tlb[1]).toBe(0);
    expect(mmu.tlb[2] & TlbBit.VALID).toBe(TlbBit.VALID);
    expect(mmu.translate(0x1020, true, false)).toBe(0x31020);
    expect(mmu.tlb[1] & SLOW).toBe(TlbBit.READ_SLOW);
    expect(mmu.tlb[1] & TlbBit.READ).toBe(TlbBit.READ);
    mmu.translate(0x2020, false, false);
    expect(mmu.tlb[2] & SLOW).toBe(0);

    mmu.setWatchPage(1, WatchPage.READ | WatchPage.WRITE);
    mmu.translate(0x1020, false, false);
    expect(mmu.tlb[1] & SLOW).toBe(SLOW);

    // The watch outlives a CR3 reload: the refill is slow again.
    mmu.setCr3(0x10000);
    expect(mmu.tlb[1]).toBe(0);
    mmu.translate(0x1020, false, false);
    expect(mmu.tlb[1] & SLOW).toBe(SLOW);

    mmu.setWatchPage(1, 0);
    mmu.translate(0x1020, true, false);
    expect(mmu.tlb[1] & SLOW).toBe(0);
  });

  it('allocates nothing until a page is watched', () => {
    const mmu = pagedMmu();
    mmu.setWatchPage(5, 0);
    expect(mmu.watchPages).toBeUndefined();
    mmu.setWatchPage(5, WatchPage.READ);
    expect(mmu.watchPages?.[5]).toBe(WatchPage.READ);
  });
});
