/** Size and type of the memory an operand reads or writes. */
export enum MemorySize {
  /** No memory operand, or one that is not accessed (LEA, NOP, hints). */
  Unknown = 0,
  Byte,
  Word,
  Dword,
  Qword,
  Xmmword,
  /** m16:16 far pointer (4 bytes). */
  FarPtr16,
  /** m16:32 far pointer (6 bytes). */
  FarPtr32,
  /** BOUND m16&16. */
  Bound16,
  /** BOUND m32&32. */
  Bound32,
  /** LGDT/SGDT/LIDT/SIDT pseudo-descriptor, 6 bytes. */
  Descriptor,
  Float32,
  Float64,
  Float80,
  Int16,
  Int32,
  Int64,
  Bcd80,
  /** FLDENV/FNSTENV with 16-bit operand size. */
  FpuEnv14,
  /** FLDENV/FNSTENV with 32-bit operand size. */
  FpuEnv28,
  /** FRSTOR/FNSAVE with 16-bit operand size. */
  FpuState94,
  /** FRSTOR/FNSAVE with 32-bit operand size. */
  FpuState108,
  /** FXSAVE/FXRSTOR area. */
  Fxsave512,
}

const BYTES: readonly number[] = [0, 1, 2, 4, 8, 16, 4, 6, 4, 8, 6, 4, 8, 10, 2, 4, 8, 10, 14, 28, 94, 108, 512];

/** Number of bytes a memory operand of this size covers (0 for {@link MemorySize.Unknown}). */
export function memorySizeBytes(size: MemorySize): number {
  return BYTES[size] ?? 0;
}
