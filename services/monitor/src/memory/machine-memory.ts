/**
 * The machine's one WebAssembly memory: guest RAM and the CPU state that compiled code works on
 * (registers, state words, segment caches, the TLB and the code map), at fixed offsets, so that code
 * the warm tier compiles to WebAssembly (engine/wasm) reaches all of it with constant addresses. The
 * JavaScript side sees the same bytes through typed-array views.
 */

/** 4 KiB pages in the 32-bit address space: TLB words (one per linear page) and code-map words. */
export const ADDRESS_PAGES = 1 << 20;

const KIB = 1024;
const MIB = 1024 * KIB;

/** Byte offsets of each area. */
export const MACHINE_LAYOUT = {
  /** EAX..EDI as 32-bit words (AX..DI and AL..BH inside them). */
  regs: 0,
  /** Cpu.st: EIP, EFLAGS, the lazy flags, CPL, control and table registers. */
  state: 32,
  /** Segment limits, bases and access bits, indexed by segment register. */
  segLimit: 96,
  segBase: 132,
  segAccess: 168,
  /** The TLB masks for the current privilege: read mask, read want, write mask, write want. */
  tlbMasks: 180,
  /** Segment attributes (16 bits each). */
  segAttr: 196,
  tlb: 64 * KIB,
  /** The code map: non-zero for a physical page that holds scanned code (PhysicalMemory.codePages). */
  codePages: 64 * KIB + 4 * MIB,
  ram: 64 * KIB + 8 * MIB,
} as const;

/** WebAssembly pages are 64 KiB. */
const WASM_PAGE = 64 * KIB;

/** A machine memory for `ramSize` bytes of RAM (a multiple of 4 KiB). */
export function createMachineMemory(ramSize: number): WebAssembly.Memory {
  const pages = Math.ceil((MACHINE_LAYOUT.ram + ramSize) / WASM_PAGE);
  return new WebAssembly.Memory({ initial: pages, maximum: pages });
}
