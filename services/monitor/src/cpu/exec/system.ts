/**
 * System instructions: segment-register loads, descriptor tables, control and debug registers,
 * interrupt flag, CPUID, time stamp counter and MSRs, cache and TLB control. The x87 escapes are
 * in x87.ts.
 */

import { Register, type Instruction } from '@plex86/x86';
import { Attr, CPU_SIGNATURE, type Cpu } from '../cpu.js';
import { CPU_FAULT, Vector } from '../fault.js';
import { CR4_SUPPORTED, Cr0, Cr4, Flag, Seg } from '../registers.js';
import {
  descriptorAttr,
  descriptorLimit,
  loadLdt,
  loadSegment,
  loadTaskRegister,
  readDescriptor,
} from '../segments.js';
import { ea, getReg, K_REG, memSeg, R_ES, readRm, setReg, writeRm } from './operands.js';
import { on } from './table.js';

/** #GP(0) unless CPL is 0 (which excludes virtual-8086 mode, where CPL is 3). */
function requireCpl0(cpu: Cpu): void {
  if (cpu.cpl !== 0) cpu.raise(Vector.GP, 0);
}

/** #UD in real and virtual-8086 mode (LLDT, LTR, SLDT, STR, LAR, LSL, VERR, VERW, ARPL). */
function requireProtected(cpu: Cpu): void {
  if (cpu.realAddressing) cpu.raiseNoCode(Vector.UD);
}

// ---- segment registers ----

function movToSreg(cpu: Cpu, ins: Instruction): void {
  const seg = ins.op0Register - R_ES;
  if (seg === Seg.CS) cpu.raiseNoCode(Vector.UD);
  const v = readRm(cpu, ins, ins.op1Kind, ins.op1Register, 16);
  loadSegment(cpu, seg, v);
  if (seg === Seg.SS) cpu.inhibitInterrupts();
}
on('Mov_Sreg_rm16', movToSreg);
on('Mov_Sreg_r32m16', movToSreg);
on('Mov_rm16_Sreg', (cpu, ins) =>
  writeRm(cpu, ins, ins.op0Kind, ins.op0Register, 16, cpu.segSel[ins.op1Register - R_ES]),
);
on('Mov_r32m16_Sreg', (cpu, ins) => {
  const v = cpu.segSel[ins.op1Register - R_ES];
  if (ins.op0Kind === K_REG) setReg(cpu, ins.op0Register, v);
  else cpu.write16(memSeg(ins), ea(cpu, ins), v);
});

function loadFarPointer(seg: number, size: number): (cpu: Cpu, ins: Instruction) => void {
  return (cpu, ins) => {
    if (ins.op1Kind === K_REG) cpu.raiseNoCode(Vector.UD);
    const s = memSeg(ins);
    const off = ea(cpu, ins);
    const offset = size === 32 ? cpu.read32(s, off) : cpu.read16(s, off);
    const selector = cpu.read16(s, ins.addressSize === 16 ? (off + (size >>> 3)) & 0xffff : (off + (size >>> 3)) | 0);
    loadSegment(cpu, seg, selector);
    setReg(cpu, ins.op0Register, offset);
    if (seg === Seg.SS) cpu.inhibitInterrupts();
  };
}
for (const [name, seg] of [
  ['Les', Seg.ES],
  ['Lds', Seg.DS],
  ['Lss', Seg.SS],
  ['Lfs', Seg.FS],
  ['Lgs', Seg.GS],
] as const) {
  on(`${name}_r16_m1616`, loadFarPointer(seg, 16));
  on(`${name}_r32_m1632`, loadFarPointer(seg, 32));
}

// ---- descriptor-table registers ----

function loadTable(idt: boolean, size: number): (cpu: Cpu, ins: Instruction) => void {
  return (cpu, ins) => {
    if (ins.op0Kind === K_REG) cpu.raiseNoCode(Vector.UD);
    requireCpl0(cpu);
    const s = memSeg(ins);
    const off = ea(cpu, ins);
    const limit = cpu.read16(s, off);
    let base = cpu.read32(s, ins.addressSize === 16 ? (off + 2) & 0xffff : (off + 2) | 0);
    if (size === 16) base &= 0xffffff;
    if (idt) cpu.setIdt(base, limit);
    else cpu.setGdt(base, limit);
  };
}
function storeTable(idt: boolean, size: number): (cpu: Cpu, ins: Instruction) => void {
  return (cpu, ins) => {
    if (ins.op0Kind === K_REG) cpu.raiseNoCode(Vector.UD);
    const s = memSeg(ins);
    const off = ea(cpu, ins);
    const next = ins.addressSize === 16 ? (off + 2) & 0xffff : (off + 2) | 0;
    // Check the whole 6-byte destination before writing any of it.
    cpu.prepareWrite(s, off, 2);
    cpu.prepareWrite(s, next, 4);
    const base = idt ? cpu.idtBase : cpu.gdtBase;
    cpu.write16(s, off, idt ? cpu.idtLimit : cpu.gdtLimit);
    cpu.write32(s, next, size === 16 ? base & 0xffffff : base);
  };
}
on('Lgdt_m1632_16', loadTable(false, 16));
on('Lgdt_m1632_32', loadTable(false, 32));
on('Lidt_m1632_16', loadTable(true, 16));
on('Lidt_m1632_32', loadTable(true, 32));
on('Sgdt_m1632_16', storeTable(false, 16));
on('Sgdt_m1632_32', storeTable(false, 32));
on('Sidt_m1632_16', storeTable(true, 16));
on('Sidt_m1632_32', storeTable(true, 32));

const lldt = (cpu: Cpu, ins: Instruction): void => {
  requireProtected(cpu);
  requireCpl0(cpu);
  loadLdt(cpu, readRm(cpu, ins, ins.op0Kind, ins.op0Register, 16));
};
const ltr = (cpu: Cpu, ins: Instruction): void => {
  requireProtected(cpu);
  requireCpl0(cpu);
  loadTaskRegister(cpu, readRm(cpu, ins, ins.op0Kind, ins.op0Register, 16));
};
on('Lldt_rm16', lldt);
on('Lldt_r32m16', lldt);
on('Ltr_rm16', ltr);
on('Ltr_r32m16', ltr);
function storeSystemSelector(seg: number): (cpu: Cpu, ins: Instruction) => void {
  return (cpu, ins) => {
    requireProtected(cpu);
    const v = cpu.segSel[seg];
    if (ins.op0Kind === K_REG) setReg(cpu, ins.op0Register, v);
    else cpu.write16(memSeg(ins), ea(cpu, ins), v);
  };
}
on('Sldt_rm16', storeSystemSelector(Seg.LDTR));
on('Sldt_r32m16', storeSystemSelector(Seg.LDTR));
on('Str_rm16', storeSystemSelector(Seg.TR));
on('Str_r32m16', storeSystemSelector(Seg.TR));

// ---- LAR, LSL, VERR, VERW, ARPL ----

/**
 * Reads the descriptor of a selector for LAR/LSL/VERR/VERW: false (ZF = 0) when it is null, outside
 * its table, or not visible at the current privilege. Page faults on the table still fault.
 */
function visibleDescriptor(cpu: Cpu, selector: number): boolean {
  if ((selector & 0xfffc) === 0) return false;
  try {
    readDescriptor(cpu, selector, Vector.GP);
  } catch (e) {
    if (e === CPU_FAULT && cpu.faultVector === Vector.GP) return false;
    throw e;
  }
  const attr = descriptorAttr(cpu.descHi);
  const conformingCode = (attr & (Attr.S | Attr.CODE | Attr.DC)) === (Attr.S | Attr.CODE | Attr.DC);
  const dpl = (attr >>> 5) & 3;
  return conformingCode || (dpl >= cpu.cpl && dpl >= (selector & 3));
}

/** System descriptor types LAR accepts (bit per type); LSL accepts the segment-like subset. */
const LAR_TYPES = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 9) | (1 << 11) | (1 << 12);
const LSL_TYPES = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 9) | (1 << 11);

function larLsl(lsl: boolean, size: number): (cpu: Cpu, ins: Instruction) => void {
  return (cpu, ins) => {
    requireProtected(cpu);
    const selector = readRm(cpu, ins, ins.op1Kind, ins.op1Register, 16);
    let ok = visibleDescriptor(cpu, selector);
    const attr = descriptorAttr(cpu.descHi);
    if (ok && (attr & Attr.S) === 0) ok = (((lsl ? LSL_TYPES : LAR_TYPES) >>> (attr & 0xf)) & 1) !== 0;
    if (!ok) {
      cpu.setFlagBits(Flag.ZF, 0);
      return;
    }
    cpu.setFlagBits(Flag.ZF, Flag.ZF);
    let v = lsl ? descriptorLimit(cpu.descLo, cpu.descHi) : cpu.descHi & 0x00f0ff00;
    if (size === 16) v &= 0xffff;
    setReg(cpu, ins.op0Register, v);
  };
}
on('Lar_r16_rm16', larLsl(false, 16));
on('Lar_r32_r32m16', larLsl(false, 32));
on('Lsl_r16_rm16', larLsl(true, 16));
on('Lsl_r32_r32m16', larLsl(true, 32));

function verify(write: boolean): (cpu: Cpu, ins: Instruction) => void {
  return (cpu, ins) => {
    requireProtected(cpu);
    const selector = readRm(cpu, ins, ins.op0Kind, ins.op0Register, 16);
    let ok = visibleDescriptor(cpu, selector);
    const attr = descriptorAttr(cpu.descHi);
    if (ok) {
      if ((attr & Attr.S) === 0) ok = false;
      else if (write) ok = (attr & (Attr.CODE | Attr.RW)) === Attr.RW;
      else ok = (attr & (Attr.CODE | Attr.RW)) !== Attr.CODE;
    }
    cpu.setFlagBits(Flag.ZF, ok ? Flag.ZF : 0);
  };
}
on('Verr_rm16', verify(false));
on('Verr_r32m16', verify(false));
on('Verw_rm16', verify(true));
on('Verw_r32m16', verify(true));

function arpl(cpu: Cpu, ins: Instruction): void {
  requireProtected(cpu);
  const src = getReg(cpu, ins.op1Register) & 0xffff;
  if (ins.op0Kind === K_REG) {
    const dest = getReg(cpu, ins.op0Register) & 0xffff;
    if ((dest & 3) < (src & 3)) {
      setReg(cpu, ins.op0Register, (getReg(cpu, ins.op0Register) & ~3) | (src & 3));
      cpu.setFlagBits(Flag.ZF, Flag.ZF);
    } else cpu.setFlagBits(Flag.ZF, 0);
    return;
  }
  const lin = cpu.prepareWrite(memSeg(ins), ea(cpu, ins), 2);
  const dest = cpu.readLin16(lin);
  if ((dest & 3) < (src & 3)) {
    cpu.writeLin16(lin, (dest & ~3) | (src & 3));
    cpu.setFlagBits(Flag.ZF, Flag.ZF);
  } else cpu.setFlagBits(Flag.ZF, 0);
}
on('Arpl_rm16_r16', arpl);
on('Arpl_r32m16_r32', arpl);

// ---- machine status word, control and debug registers ----

on('Smsw_rm16', (cpu, ins) => writeRm(cpu, ins, ins.op0Kind, ins.op0Register, 16, cpu.cr0 & 0xffff));
on('Smsw_r32m16', (cpu, ins) => {
  if (ins.op0Kind === K_REG) setReg(cpu, ins.op0Register, cpu.cr0);
  else cpu.write16(memSeg(ins), ea(cpu, ins), cpu.cr0 & 0xffff);
});
const lmsw = (cpu: Cpu, ins: Instruction): void => {
  requireCpl0(cpu);
  const v = readRm(cpu, ins, ins.op0Kind, ins.op0Register, 16);
  // LMSW sets PE but cannot clear it; it changes only PE, MP, EM and TS.
  const cr0 = cpu.cr0;
  writeCr0(cpu, (cr0 & ~0xe) | (v & 0xf) | (cr0 & Cr0.PE));
};
on('Lmsw_rm16', lmsw);
on('Lmsw_r32m16', lmsw);
on('Clts', (cpu) => {
  requireCpl0(cpu);
  cpu.setCr0(cpu.cr0 & ~Cr0.TS);
});

/** MOV CR0 / LMSW: applies a new CR0 and the mode change it implies. */
export function writeCr0(cpu: Cpu, value: number): void {
  if ((value & Cr0.PG) !== 0 && (value & Cr0.PE) === 0) cpu.raise(Vector.GP, 0);
  if ((value & Cr0.NW) !== 0 && (value & Cr0.CD) === 0) cpu.raise(Vector.GP, 0);
  const old = cpu.cr0;
  // Bits an i686 implements; the rest read as zero (ET always reads as one).
  cpu.setCr0(value & (Cr0.PE | Cr0.MP | Cr0.EM | Cr0.TS | Cr0.NE | Cr0.WP | Cr0.AM | Cr0.NW | Cr0.CD | Cr0.PG));
  if (((old ^ value) & Cr0.PE) !== 0) cpu.refreshSegments();
  cpu.requestExit();
}

on('Mov_r32_cr', (cpu, ins) => {
  requireCpl0(cpu);
  let v: number;
  switch (ins.op1Register - Register.CR0) {
    case 0:
      v = cpu.cr0;
      break;
    case 2:
      v = cpu.cr2;
      break;
    case 3:
      v = cpu.cr3;
      break;
    case 4:
      v = cpu.cr4;
      break;
    default:
      return cpu.raiseNoCode(Vector.UD);
  }
  setReg(cpu, ins.op0Register, v);
});
on('Mov_cr_r32', (cpu, ins) => {
  requireCpl0(cpu);
  const v = getReg(cpu, ins.op1Register);
  switch (ins.op0Register - Register.CR0) {
    case 0:
      writeCr0(cpu, v);
      break;
    case 2:
      cpu.cr2 = v;
      break;
    case 3:
      cpu.setCr3(v & ~0xfe7);
      cpu.requestExit();
      break;
    case 4:
      if ((v & ~CR4_SUPPORTED) !== 0) cpu.raise(Vector.GP, 0);
      cpu.setCr4(v);
      cpu.requestExit();
      break;
    default:
      cpu.raiseNoCode(Vector.UD);
  }
});

/** DR4/DR5 alias DR6/DR7 unless CR4.DE, which makes them undefined (#UD). */
function debugRegister(cpu: Cpu, reg: number): number {
  const n = reg - Register.DR0;
  if (n === 4 || n === 5) {
    if ((cpu.cr4 & Cr4.DE) !== 0) cpu.raiseNoCode(Vector.UD);
    return n + 2;
  }
  return n;
}
on('Mov_r32_dr', (cpu, ins) => {
  requireCpl0(cpu);
  setReg(cpu, ins.op0Register, cpu.dr[debugRegister(cpu, ins.op1Register)]);
});
on('Mov_dr_r32', (cpu, ins) => {
  requireCpl0(cpu);
  const n = debugRegister(cpu, ins.op0Register);
  let v = getReg(cpu, ins.op1Register);
  if (n === 6) v = (v & 0xe00f) | (0xffff0ff0 | 0);
  else if (n === 7) v = (v & 0xffff2bff) | 0x400;
  cpu.dr[n] = v;
});

// ---- interrupt flag ----

function checkIopl(cpu: Cpu): void {
  if (cpu.protectedMode && cpu.cpl > cpu.iopl) cpu.raise(Vector.GP, 0);
}
on('Cli', (cpu) => {
  checkIopl(cpu);
  cpu.setFlagBits(Flag.IF, 0);
});
on('Sti', (cpu) => {
  checkIopl(cpu);
  // Interrupts are recognised only after the instruction that follows STI.
  if ((cpu.eflags & Flag.IF) === 0) cpu.inhibitInterrupts();
  cpu.setFlagBits(Flag.IF, Flag.IF);
});

// ---- CPUID, time stamp counter, MSRs ----

/** CPUID.1:EDX: FPU, DE, PSE, TSC, MSR, CX8, PGE, CMOV, FXSR (no VME, PAE, APIC, SEP, MTRR, MMX or SSE). */
export const CPUID_FEATURES =
  (1 << 0) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 13) | (1 << 15) | (1 << 24);

on('Cpuid', (cpu) => {
  const leaf = cpu.r32[0];
  if (leaf === 0) {
    cpu.r32[0] = 1;
    // "GenuineIntel" in EBX, EDX, ECX.
    cpu.r32[3] = 0x756e6547;
    cpu.r32[2] = 0x49656e69;
    cpu.r32[1] = 0x6c65746e;
    return;
  }
  // Leaves above the maximum return the highest basic leaf, as Intel processors do.
  cpu.r32[0] = CPU_SIGNATURE;
  cpu.r32[3] = 0;
  cpu.r32[1] = 0;
  cpu.r32[2] = CPUID_FEATURES;
});

on('Rdtsc', (cpu) => {
  if ((cpu.cr4 & Cr4.TSD) !== 0 && cpu.cpl !== 0) cpu.raise(Vector.GP, 0);
  const tsc = cpu.instructions + cpu.tscOffset;
  cpu.r32[0] = (tsc % 0x100000000) | 0;
  cpu.r32[2] = Math.floor(tsc / 0x100000000) | 0;
});

const MSR_TSC = 0x10;
const MSR_PLATFORM_ID = 0x17;
const MSR_BIOS_SIGN_ID = 0x8b;

on('Rdmsr', (cpu) => {
  requireCpl0(cpu);
  switch (cpu.r32[1]) {
    case MSR_TSC: {
      const tsc = cpu.instructions + cpu.tscOffset;
      cpu.r32[0] = (tsc % 0x100000000) | 0;
      cpu.r32[2] = Math.floor(tsc / 0x100000000) | 0;
      return;
    }
    case MSR_PLATFORM_ID:
    case MSR_BIOS_SIGN_ID:
      cpu.r32[0] = 0;
      cpu.r32[2] = 0;
      return;
    default:
      cpu.raise(Vector.GP, 0);
  }
});
on('Wrmsr', (cpu) => {
  requireCpl0(cpu);
  switch (cpu.r32[1]) {
    case MSR_TSC:
      // Only the low 32 bits are writable on a P6; the upper half is cleared.
      cpu.tscOffset = (cpu.r32[0] >>> 0) - cpu.instructions;
      return;
    case MSR_BIOS_SIGN_ID:
      return;
    default:
      cpu.raise(Vector.GP, 0);
  }
});
on('Rdpmc', (cpu) => {
  if ((cpu.cr4 & Cr4.PCE) === 0 && cpu.cpl !== 0) cpu.raise(Vector.GP, 0);
  if (cpu.r32[1] >>> 0 > 1) cpu.raise(Vector.GP, 0);
  cpu.r32[0] = 0;
  cpu.r32[2] = 0;
});

// ---- caches, TLB, no-ops ----

on('Invlpg_m', (cpu, ins) => {
  requireCpl0(cpu);
  if (ins.op0Kind === K_REG) cpu.raiseNoCode(Vector.UD);
  cpu.mmu.invalidatePage((cpu.segBase[memSeg(ins)] + ea(cpu, ins)) | 0);
  cpu.requestExit();
});
on('Invd', requireCpl0);
on('Wbinvd', requireCpl0);
const nop = (): void => undefined;
on('Nop', nop);
/**
 * Instruction-times a PAUSE takes: about as many cycles as on processors since Skylake (140). PAUSE
 * is the hint that the CPU waits in a spin loop, and a guest waits in loops that read the TSC with a
 * PAUSE between the reads (Linux's udelay: delay_tsc), so the clock's time passes in fewer of their
 * iterations. Counted as one instruction (the rest are `cpu.stalls`), it ends the block run so that
 * the run loop sees the time it took before the next block, as it sees a timer's deadline.
 */
export const PAUSE_CYCLES = 128;

on('Pause', (cpu) => {
  cpu.instructions += PAUSE_CYCLES - 1;
  cpu.stalls += PAUSE_CYCLES - 1;
  cpu.requestExit();
});
on('Nop_rm16', nop);
on('Nop_rm32', nop);
on('Nop_rm16_r16', nop);
on('Nop_rm32_r32', nop);
