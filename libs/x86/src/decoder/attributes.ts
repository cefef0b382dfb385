/**
 * Control-flow kind of an instruction, stored in the low bits of its attribute word
 * (`attributes & CodeAttr.FLOW_MASK`).
 */
export enum FlowControl {
  /** Falls through to the next instruction. */
  Next = 0,
  /** JMP rel / JMP ptr16:x. */
  Jump = 1,
  /** JMP r/m (near or far through memory). */
  IndirectJump = 2,
  /** Jcc, JCXZ, LOOPcc. */
  ConditionalJump = 3,
  /** CALL rel / CALL ptr16:x. */
  Call = 4,
  /** CALL r/m. */
  IndirectCall = 5,
  /** RET, RETF, IRET, SYSEXIT. */
  Return = 6,
  /** INT n, INT3, INTO, INT1, SYSENTER. */
  Interrupt = 7,
  /** Always faults or stops: UD0/UD1/UD2, HLT, RSM. */
  Exception = 8,
}

/**
 * Bits of the per-{@link Code} attribute word (`CODE_ATTRIBUTES[code]`, also copied into
 * `Instruction.attributes`). They come from the flags column of the instruction table in libs/x86/isa.
 *
 * Read: `(attrs & CodeAttr.FLOW_MASK) as FlowControl`, `(attrs & CodeAttr.SENSITIVE) !== 0`.
 */
export enum CodeAttr {
  /** Bits 0-3 hold a {@link FlowControl}. */
  FLOW_MASK = 0xf,
  /** Far control transfer (loads CS): CALL/JMP ptr or m16:x, RETF, IRET. */
  FAR = 1 << 4,
  /** Faults with #GP(0) unless CPL is 0 (LGDT, MOV CRn, HLT, WRMSR, ...). */
  PRIVILEGED = 1 << 5,
  /**
   * Runs at any CPL but its result depends on CPL, IOPL, the mode or hidden processor state, so a monitor
   * must see it (SGDT, SMSW, PUSHF/POPF, LAR, segment register loads, far transfers, INT n, IRET, CLI/STI,
   * I/O, CPUID, RDTSC, ...).
   */
  SENSITIVE = 1 << 6,
  /** Accesses I/O ports (IN, OUT, INS, OUTS). */
  IO = 1 << 7,
  /** Serializing instruction (SDM vol. 3 §9.3). */
  SERIALIZING = 1 << 8,
  /** Accepts a LOCK prefix when its destination is memory; LOCK anywhere else is #UD. */
  LOCKABLE = 1 << 9,
  /** Reads memory: its memory operand (when the form has one) or an implicit stack or string operand. */
  READS_MEMORY = 1 << 10,
  /** Writes memory: its memory operand (when the form has one) or an implicit stack or string operand. */
  WRITES_MEMORY = 1 << 11,
  /** Pushes or pops the stack implicitly. */
  STACK = 1 << 12,
  /** String instruction (MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS); REP prefixes apply. */
  STRING = 1 << 13,
  /** x87 instruction (CR0.EM/TS checks). */
  X87 = 1 << 14,
  /** Uses MMX registers. */
  MMX = 1 << 15,
  /** Uses XMM registers or MXCSR (CR4.OSFXSR checks). */
  SSE = 1 << 16,
  /** Loads a segment register (MOV Sreg, POP Sreg, LDS/LES/LFS/LGS/LSS). */
  SEGMENT_LOAD = 1 << 17,
}

/** Control-flow kind of an attribute word. */
export function flowControl(attributes: number): FlowControl {
  return (attributes & CodeAttr.FLOW_MASK) as FlowControl;
}
