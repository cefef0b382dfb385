import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../memory/physical-memory.js';
import { accessMasks, Mmu, PfError, TlbBit } from './paging.js';

const P = 1;
const RW = 2;
const US = 4;
const A = 0x20;
const D = 0x40;
const PS = 0x80;
const G = 0x100;

function setup(): { mem: PhysicalMemory; mmu: Mmu } {
  const mem = new PhysicalMemory({ ramSize: 16 << 20 });
  const mmu = new Mmu(mem);
  mmu.configure({ paging: true, writeProtect: false, pse: true, pge: true, cr3: 0x10000 });
  // PDE 0 -> page table at 0x11000; linear 0x00400000 (PDE 1) is a 4 MiB page at 0x800000.
  mem.write32(0x10000, 0x11000 | P | RW | US);
  mem.write32(0x10004, 0x800000 | P | RW | PS);
  // PTEs: page 1 -> 0x20000 user rw; page 2 -> 0x21000 user read-only; page 3 -> 0x22000 supervisor; page 4 global.
  mem.write32(0x11004, 0x20000 | P | RW | US);
  mem.write32(0x11008, 0x21000 | P | US);
  mem.write32(0x1100c, 0x22000 | P | RW);
  mem.write32(0x11010, 0x23000 | P | RW | G);
  return { mem, mmu };
}

describe('Mmu', () => {
  it('maps linear to physical 1:1 (with A20) when paging is off', () => {
    const mem = new PhysicalMemory({ ramSize: 2 << 20 });
    const mmu = new Mmu(mem);
    expect(mmu.translate(0x12345, true, true)).toBe(0x12345);
    mem.setA20(false);
    mmu.flushAll();
    expect(mmu.translate(0x112345, false, false)).toBe(0x12345);
    expect(mmu.tlb[0x112] & TlbBit.USER_WRITE).toBe(TlbBit.USER_WRITE);
  });

  it('walks 4 KiB pages and sets accessed, then dirty only on writes', () => {
    const { mem, mmu } = setup();
    expect(mmu.translate(0x1234, false, true)).toBe(0x20234);
    expect(mem.read32(0x10000) & A).toBe(A);
    expect(mem.read32(0x11004) & (A | D)).toBe(A);
    // A read fill must not allow fast writes: the dirty bit is not set yet.
    expect(mmu.tlb[1] & TlbBit.USER_WRITE).toBe(0);
    expect(mmu.tlb[1] & TlbBit.USER_READ).toBe(TlbBit.USER_READ);
    expect(mmu.translate(0x1238, true, true)).toBe(0x20238);
    expect(mem.read32(0x11004) & (A | D)).toBe(A | D);
    expect(mmu.tlb[1] & TlbBit.USER_WRITE).toBe(TlbBit.USER_WRITE);
  });

  it('maps 4 MiB pages with PSE and checks their reserved bits', () => {
    const { mem, mmu } = setup();
    expect(mmu.translate(0x00512345, true, false)).toBe(0x912345);
    expect(mem.read32(0x10004) & (A | D)).toBe(A | D);
    mem.write32(0x10004, 0x800000 | P | RW | PS | 0x2000);
    mmu.flushAll();
    expect(mmu.translate(0x00400000, false, false)).toBe(-1);
    expect(mmu.faultCode).toBe(PfError.PRESENT | PfError.RSVD);
  });

  it('ignores PS without CR4.PSE and treats the PDE as a page-table pointer', () => {
    const { mem, mmu } = setup();
    mmu.configure({ paging: true, writeProtect: false, pse: false, pge: false, cr3: 0x10000 });
    mem.write32(0x800000 + 4, 0x30000 | P);
    expect(mmu.translate(0x00401000, false, false)).toBe(0x30000);
  });

  it('faults with the SDM error codes', () => {
    const { mmu } = setup();
    expect(mmu.translate(0x00c00000, false, false)).toBe(-1); // PDE 3 not present
    expect(mmu.faultCode).toBe(0);
    expect(mmu.translate(0x5000, true, true)).toBe(-1); // PTE 5 not present, user write
    expect(mmu.faultCode).toBe(PfError.WRITE | PfError.USER);
    expect(mmu.translate(0x2000, true, true)).toBe(-1); // user write to read-only
    expect(mmu.faultCode).toBe(PfError.PRESENT | PfError.WRITE | PfError.USER);
    expect(mmu.translate(0x3000, false, true)).toBe(-1); // user read of a supervisor page
    expect(mmu.faultCode).toBe(PfError.PRESENT | PfError.USER);
  });

  it('lets the supervisor write read-only pages unless CR0.WP is set', () => {
    const { mmu } = setup();
    expect(mmu.translate(0x2000, true, false)).toBe(0x21000);
    mmu.configure({ paging: true, writeProtect: true, pse: true, pge: true, cr3: 0x10000 });
    expect(mmu.translate(0x2000, true, false)).toBe(-1);
    expect(mmu.faultCode).toBe(PfError.PRESENT | PfError.WRITE);
  });

  it('does not set accessed or dirty bits when the access faults', () => {
    const { mem, mmu } = setup();
    expect(mmu.translate(0x2000, true, true)).toBe(-1);
    expect(mem.read32(0x11008) & (A | D)).toBe(0);
  });

  it('keeps global pages over a CR3 reload and drops them on INVLPG', () => {
    const { mmu } = setup();
    mmu.translate(0x4000, false, false);
    mmu.translate(0x1000, false, false);
    expect(mmu.tlb[4] & TlbBit.GLOBAL).toBe(TlbBit.GLOBAL);
    mmu.setCr3(0x10000);
    expect(mmu.tlb[1]).toBe(0);
    expect(mmu.tlb[4] & TlbBit.VALID).toBe(TlbBit.VALID);
    mmu.invalidatePage(0x4abc);
    expect(mmu.tlb[4]).toBe(0);
    mmu.translate(0x4000, false, false);
    mmu.configure({ paging: true, writeProtect: false, pse: true, pge: false, cr3: 0x10000 });
    expect(mmu.tlb[4]).toBe(0);
  });

  it('marks ROM and unmapped pages so the fast path leaves them alone', () => {
    const mem = new PhysicalMemory({ ramSize: 2 << 20 });
    mem.loadBios(new Uint8Array(0x10000));
    const mmu = new Mmu(mem);
    mmu.translate(0xf0000, false, false);
    expect(mmu.tlb[0xf0] & (TlbBit.READ_SLOW | TlbBit.WRITE_SLOW)).toBe(TlbBit.WRITE_SLOW);
    mmu.translate(0x400000, false, false);
    expect(mmu.tlb[0x400] & (TlbBit.READ_SLOW | TlbBit.WRITE_SLOW)).toBe(TlbBit.READ_SLOW | TlbBit.WRITE_SLOW);
  });

  it('keeps direct writes off pages with scanned code, those filled before and after the code came', () => {
    const { mem, mmu } = setup();
    mem.onCodePage = (page) => mmu.codeArrived(page);
    const write = accessMasks(0);
    const allows = (page: number): boolean => (mmu.tlb[page] & write.writeMask) === write.writeWant;
    // Linear 0x1000 and 0x5000 both map physical 0x20000; 0x4000 maps 0x23000.
    mem.write32(0x11014, 0x20000 | P | RW);
    for (const lin of [0x1000, 0x4000, 0x5000]) mmu.translate(lin, true, false);
    expect([1, 4, 5].map(allows)).toEqual([true, true, true]);
    mem.markCode(0x20);
    expect([1, 4, 5].map(allows)).toEqual([false, true, false]);
    expect(mmu.tlb[1] & TlbBit.CODE).toBe(TlbBit.CODE);
    // Reads and the translation itself are unchanged; a new fill of the page gets the bit too.
    expect(mmu.tlb[1] & TlbBit.READ).toBe(TlbBit.READ);
    mmu.flushAll();
    expect(mmu.translate(0x1010, true, false)).toBe(0x20010);
    expect(allows(1)).toBe(false);
    mem.unmarkCode(0x20);
    mmu.flushAll();
    mmu.translate(0x1010, true, false);
    expect(allows(1)).toBe(true);
  });
});
