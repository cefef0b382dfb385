/**
 * Registers an IA-32 instruction can name. The numbering is part of the decoder tables: each class is
 * contiguous in encoding order, so `Register.EAX + n` is the 32-bit register with encoding n.
 */
export enum Register {
  None = 0,
  AL,
  CL,
  DL,
  BL,
  AH,
  CH,
  DH,
  BH,
  AX,
  CX,
  DX,
  BX,
  SP,
  BP,
  SI,
  DI,
  EAX,
  ECX,
  EDX,
  EBX,
  ESP,
  EBP,
  ESI,
  EDI,
  ES,
  CS,
  SS,
  DS,
  FS,
  GS,
  ST0,
  ST1,
  ST2,
  ST3,
  ST4,
  ST5,
  ST6,
  ST7,
  MM0,
  MM1,
  MM2,
  MM3,
  MM4,
  MM5,
  MM6,
  MM7,
  XMM0,
  XMM1,
  XMM2,
  XMM3,
  XMM4,
  XMM5,
  XMM6,
  XMM7,
  CR0,
  CR1,
  CR2,
  CR3,
  CR4,
  CR5,
  CR6,
  CR7,
  DR0,
  DR1,
  DR2,
  DR3,
  DR4,
  DR5,
  DR6,
  DR7,
}

/** Number of values in {@link Register}. */
export const REGISTER_COUNT = Register.DR7 + 1;

const NAMES: readonly string[] = Object.freeze(
  Array.from({ length: REGISTER_COUNT }, (_, r) => (r === 0 ? '' : Register[r].toLowerCase())),
);

/** Lower-case assembler name of a register (`eax`, `st0`, `xmm3`), or '' for {@link Register.None}. */
export function registerName(reg: Register): string {
  return NAMES[reg] ?? '';
}

/** Width of a general, segment, control or debug register in bits; 80 for x87, 64 for MMX, 128 for XMM. */
export function registerBits(reg: Register): number {
  if (reg >= Register.AL && reg <= Register.BH) return 8;
  if (reg >= Register.AX && reg <= Register.DI) return 16;
  if (reg >= Register.EAX && reg <= Register.EDI) return 32;
  if (reg >= Register.ES && reg <= Register.GS) return 16;
  if (reg >= Register.ST0 && reg <= Register.ST7) return 80;
  if (reg >= Register.MM0 && reg <= Register.MM7) return 64;
  if (reg >= Register.XMM0 && reg <= Register.XMM7) return 128;
  if (reg >= Register.CR0 && reg <= Register.DR7) return 32;
  return 0;
}
