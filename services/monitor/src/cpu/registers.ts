/**
 * Register numbering, EFLAGS and control-register bits (Intel SDM vol. 3, chapter 2).
 * The numbers are the hardware encodings, so a ModRM field indexes the arrays directly.
 */

/** 32-bit general registers, in ModRM order. */
export const enum Reg {
  EAX = 0,
  ECX = 1,
  EDX = 2,
  EBX = 3,
  ESP = 4,
  EBP = 5,
  ESI = 6,
  EDI = 7,
}

/**
 * Segment registers in their encoding order, then the two system segments and a scratch slot,
 * which share the descriptor-cache arrays.
 */
export const enum Seg {
  ES = 0,
  CS = 1,
  SS = 2,
  DS = 3,
  FS = 4,
  GS = 5,
  LDTR = 6,
  TR = 7,
  /** Scratch cache for a stack segment being switched to (inter-privilege calls and interrupts). */
  TMP = 8,
}

export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'] as const;
export const REG32_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;

export const enum Flag {
  CF = 0x1,
  /** Bit 1 always reads as one. */
  FIXED1 = 0x2,
  PF = 0x4,
  AF = 0x10,
  ZF = 0x40,
  SF = 0x80,
  TF = 0x100,
  IF = 0x200,
  DF = 0x400,
  OF = 0x800,
  IOPL = 0x3000,
  NT = 0x4000,
  RF = 0x10000,
  VM = 0x20000,
  AC = 0x40000,
  ID = 0x200000,
}

/** The six status flags that lazy evaluation covers. */
export const ARITH_FLAGS = 0x8d5;
/** Bits an i686 without VME lets software change through POPF/IRET at CPL 0. */
export const EFLAGS_WRITABLE = 0x257fd5;

export const enum Cr0 {
  PE = 0x1,
  MP = 0x2,
  EM = 0x4,
  TS = 0x8,
  ET = 0x10,
  NE = 0x20,
  WP = 0x10000,
  AM = 0x40000,
  NW = 0x20000000,
  CD = 0x40000000,
  PG = 0x80000000,
}

export const enum Cr4 {
  VME = 0x1,
  PVI = 0x2,
  TSD = 0x4,
  DE = 0x8,
  PSE = 0x10,
  PAE = 0x20,
  MCE = 0x40,
  PGE = 0x80,
  PCE = 0x100,
  /** The OS saves state with FXSAVE/FXRSTOR (only the x87 part exists here). */
  OSFXSR = 0x200,
}

/** CR4 bits this CPU implements; setting any other bit is #GP(0). */
export const CR4_SUPPORTED = Cr4.TSD | Cr4.DE | Cr4.PSE | Cr4.PGE | Cr4.PCE | Cr4.OSFXSR;

/** Byte-register index (ModRM order AL CL DL BL AH CH DH BH) to the byte offset in the register file. */
export const REG8_OFFSET = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);
