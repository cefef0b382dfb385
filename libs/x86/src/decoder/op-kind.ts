/** What an operand of a decoded {@link Instruction} is, and which fields of the record describe it. */
export enum OpKind {
  None = 0,
  /** `opNRegister`. */
  Register,
  /** The ModRM/SIB or moffs memory operand: `memBase`, `memIndex`, `memScale`, `memDisplacement`, `memSegment`, `memSize`. */
  Memory,
  /** `immediate`, an 8-bit value. */
  Immediate8,
  /** `immediate`, a 16-bit value. */
  Immediate16,
  /** `immediate`, a 32-bit value. */
  Immediate32,
  /** `immediate`, an 8-bit value sign-extended to 16 bits (stored as 0..0xffff). */
  Immediate8to16,
  /** `immediate`, an 8-bit value sign-extended to 32 bits (stored as 0..0xffffffff). */
  Immediate8to32,
  /** `immediate2`, the second immediate of ENTER. */
  Immediate8Second,
  /** `branchTarget`, already masked to 16 bits. */
  NearBranch16,
  /** `branchTarget`. */
  NearBranch32,
  /** `farSelector`:`branchTarget` with a 16-bit offset. */
  FarBranch16,
  /** `farSelector`:`branchTarget` with a 32-bit offset. */
  FarBranch32,
  /** String source seg:[SI] (segment overridable, `memSegment`). */
  MemorySegSI,
  /** String source seg:[ESI]. */
  MemorySegESI,
  /** String destination ES:[DI] (never overridden). */
  MemoryESDI,
  /** String destination ES:[EDI]. */
  MemoryESEDI,
  /** MASKMOVQ/MASKMOVDQU destination seg:[DI]. */
  MemorySegDI,
  /** MASKMOVQ/MASKMOVDQU destination seg:[EDI]. */
  MemorySegEDI,
}

/** True for every kind that refers to memory (ModRM, moffs, string and MASKMOV operands). */
export function isMemoryKind(kind: OpKind): boolean {
  return kind === OpKind.Memory || kind >= OpKind.MemorySegSI;
}
