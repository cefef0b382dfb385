/**
 * How to read the instruction table (the other files in this folder).
 *
 * This folder is the single source of the IA-32 instruction set for plex86. tools/gen-x86 reads it and
 * writes libs/x86/src/generated/ (decoder tables, the Code and Mnemonic enums, attribute words); nothing
 * here is imported at run time.
 *
 * Each section lists rows `OPCODE | INSTRUCTION | FLAGS`, one per line; `#` starts a comment.
 *
 * OPCODE, tokens separated by spaces (Intel SDM vol. 2 notation):
 *   o16 / o32     only with this operand size (after 66 is applied)
 *   a16 / a32     only with this address size (after 67 is applied)
 *   NP 66 F3 F2   mandatory prefix before 0F: the last of F2/F3, else 66, else none (NP) selects the row.
 *                 Without one, a row applies whatever prefixes are present. A 66 that selects a row does
 *                 not change the operand size.
 *   0F, 0F 38, 0F 3A   opcode map escape, then the opcode byte
 *   XX+r          opcode with a register number in its low three bits (operand Zb/Zv/Zd)
 *   /r            a ModRM byte follows; /0../7 also require ModRM.reg to be that digit
 *   mem / reg     ModRM.mod must (not) be 11b
 *   XX after the opcode byte   the exact ModRM byte (mod 11b), e.g. `0F 01 C8`; `C0+i` allows any rm
 *
 * INSTRUCTION: `MNEMONIC operand,operand,...`. `NAME16/NAME32` gives the mnemonics for the two operand
 * sizes (PUSHA/PUSHAD). Operands use the SDM Appendix A letters:
 *   E  ModRM r/m: general register or memory        G  ModRM.reg general register
 *   M  ModRM memory only                            R  ModRM.rm general register (mod must be 11b)
 *   S  ModRM.reg segment register                   C, D  ModRM.reg control / debug register
 *   P  ModRM.reg MMX register                       Q  ModRM r/m: MMX register or memory
 *   N  ModRM.rm MMX register (mod 11b)              V  ModRM.reg XMM register
 *   W  ModRM r/m: XMM register or memory            U  ModRM.rm XMM register (mod 11b)
 *   Z  register number in the opcode's low bits     I  immediate; Ibs: imm8 sign-extended to the operand size
 *   J  relative branch                              A  far pointer ptr16:16 / ptr16:32
 *   O  moffs (offset of the address size)           X  string source seg:[eSI]   Y  string destination ES:[eDI]
 *   Mxlat  XLAT's [eBX+AL]                          Ymask  MASKMOVQ/MASKMOVDQU seg:[eDI] (Ymaskq, Ymaskdq)
 *   ST0, STi  x87 stack top and ModRM.rm stack register
 *   AL CL DX ES ... fixed registers; eAX..eDI the AX/EAX-sized register; `1` the constant of shifts by one
 *   A register part and a memory part can differ: `Rv/Mw` is a general register of the operand size or a
 *   word in memory (MOV r/m,Sreg).
 * Sizes: b byte, w word, d dword, q qword, dq/x 16 bytes, v word or dword by operand size, z word or
 *   dword (immediates never exceed 32 bits), y dword, p far pointer (m16:16/m16:32), a BOUND pair,
 *   s 6-byte descriptor, ps/pd packed single/double (16 bytes), ss scalar single (dword), sd scalar double
 *   (qword). x87 memory: fs/fd/ft float32/64/80, wi/di/qi int16/32/64, bcd packed BCD, env FPU
 *   environment (14/28 bytes by operand size), st FPU state (94/108), fx FXSAVE area; plain M is unsized.
 *
 * FLAGS, tokens separated by spaces; each becomes a bit of the Code's attribute word (CodeAttr):
 */
export const FLAG_TOKENS: Readonly<
  Record<string, { readonly attr?: string; readonly flow?: string; readonly doc: string }>
> = {
  lock: { attr: 'LOCKABLE', doc: 'LOCK is allowed when the destination is memory' },
  priv: { attr: 'PRIVILEGED', doc: 'CPL 0 only (#GP otherwise)' },
  sens: { attr: 'SENSITIVE', doc: 'result depends on CPL, IOPL, mode or hidden state; a monitor must see it' },
  io: { attr: 'IO', doc: 'accesses I/O ports' },
  serial: { attr: 'SERIALIZING', doc: 'serializing instruction' },
  far: { attr: 'FAR', doc: 'far transfer (loads CS)' },
  segload: { attr: 'SEGMENT_LOAD', doc: 'loads a segment register' },
  x87: { attr: 'X87', doc: 'x87 instruction' },
  mmx: { attr: 'MMX', doc: 'MMX state instruction without MMX register operands (EMMS)' },
  sse: { attr: 'SSE', doc: 'SSE instruction without XMM operands (LDMXCSR, STMXCSR)' },
  jmp: { flow: 'Jump', doc: 'direct jump' },
  ijmp: { flow: 'IndirectJump', doc: 'indirect jump' },
  jcc: { flow: 'ConditionalJump', doc: 'conditional jump or loop' },
  call: { flow: 'Call', doc: 'direct call' },
  icall: { flow: 'IndirectCall', doc: 'indirect call' },
  ret: { flow: 'Return', doc: 'return' },
  int: { flow: 'Interrupt', doc: 'software interrupt or system call' },
  exc: { flow: 'Exception', doc: 'always faults or stops' },
  r: { doc: 'the explicit memory operand is only read (default for a memory source)' },
  w: { doc: 'the explicit memory operand is only written' },
  rw: { doc: 'the explicit memory operand is read and written (default for a memory destination)' },
  nomem: { doc: 'the memory operand is an address only (LEA, hints, INVLPG)' },
  sr: { attr: 'STACK', doc: 'pops the stack (reads memory)' },
  sw: { attr: 'STACK', doc: 'pushes on the stack (writes memory)' },
  cmp: { doc: 'string instruction that reads its ES:[eDI] operand (CMPS, SCAS)' },
  osz: { doc: 'behaviour depends on the operand size although no operand shows it: one Code per size' },
  nomod: { doc: 'ModRM.mod is ignored and treated as 11b (MOV to/from CRn/DRn)' },
};
