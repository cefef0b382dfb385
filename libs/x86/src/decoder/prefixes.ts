/** Bits of `Instruction.prefixes`: which legacy prefixes the instruction carries and how they act. */
export enum Prefix {
  None = 0,
  /** F0. */
  Lock = 1 << 0,
  /** F3 acting as REP/REPE (the last of F2/F3 wins; not set when F3 selects the opcode, as in MOVSS). */
  Rep = 1 << 1,
  /** F2 acting as REPNE (the last of F2/F3 wins; not set when F2 selects the opcode, as in MOVSD xmm). */
  Repne = 1 << 2,
  /** 66 present (it toggles the operand size unless it selects the opcode, as in ADDPD). */
  OperandSize = 1 << 3,
  /** 67 present: the address size is toggled. */
  AddressSize = 1 << 4,
  /** A segment override is present; `segmentPrefix` names the last one. */
  Segment = 1 << 5,
}
