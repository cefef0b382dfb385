import { CodeAttr, FlowControl } from './attributes.js';
import { MemorySize } from './memory-size.js';
import { OpKind } from './op-kind.js';
import { Prefix } from './prefixes.js';
import { Register } from './register.js';

/**
 * One decoded instruction. The caller owns it and passes it to every decode call, which overwrites all
 * fields; nothing is allocated per instruction. Every field is a number and is initialised here, so all
 * records share one hidden class.
 *
 * Operands are described by `opNKind` (an {@link OpKind}); the kind says which fields hold the value:
 * registers in `opNRegister`, the one ModRM/moffs/string memory operand in the `mem*` fields,
 * immediates in `immediate`/`immediate2`, branches in `branchTarget`/`farSelector`.
 *
 * A decode always writes the header fields (ip, length, code, mnemonic, attributes, bitness, the
 * operand and address sizes, prefixes, segmentPrefix, opCount; opcodeModrm when it succeeds) and the
 * four operand kinds and registers. The `mem*`, `immediate`, `immediate2`, `branchTarget` and
 * `farSelector` fields are written only when an operand uses them and otherwise keep their previous
 * values, so read them through the operand kinds.
 */
export class Instruction {
  // Field order is layout: V8 places the fields in declaration order, so the ones an executor reads
  // for nearly every instruction come first and share the record's first cache lines.

  /**
   * `ip` as a signed 32-bit integer. `rawIp`, `rawImmediate`, `rawDisplacement` and `rawBranchTarget`
   * are how the record stores those four: V8 keeps an int32 field in place, where a field that may
   * hold 2^31 or more would be a pointer to a boxed double, one more load for every reader. Executors
   * that mask or wrap the value read these; `ip`, `immediate`, `memDisplacement` and `branchTarget`
   * give the values as documented there.
   */
  rawIp = 0;
  /** Length in bytes (1..15). For Invalid/NeedMoreBytes/TooLong: the bytes examined. */
  length = 0;
  op0Register: Register = Register.None;
  op1Register: Register = Register.None;
  op0Kind: OpKind = OpKind.None;
  op1Kind: OpKind = OpKind.None;
  /** `immediate` as a signed 32-bit integer (see rawIp). */
  rawImmediate = 0;
  /** Segment the memory operand is accessed through, after defaults and overrides. */
  memSegment: Register = Register.None;
  /** Base register of the memory operand, or Register.None. */
  memBase: Register = Register.None;
  /** Index register of the memory operand, or Register.None. */
  memIndex: Register = Register.None;
  /** `memDisplacement` as a signed 32-bit integer: its low 32 bits (see rawIp). */
  rawDisplacement = 0;
  /** Scale of the index: 1, 2, 4 or 8. */
  memScale = 1;
  /** Effective address size in bits: 16 or 32. */
  addressSize = 32;
  /** Opcode identity, a `Code` (0 = Code.Invalid). */
  code = 0;
  /** `branchTarget` as a signed 32-bit integer (see rawIp). */
  rawBranchTarget = 0;
  /** The table's {@link CodeAttr} word for `code`. */
  attributes = 0;
  /** Effective operand size in bits: 16 or 32. */
  operandSize = 32;
  /** {@link Prefix} bits. */
  prefixes = 0;
  /** Code size the instruction was decoded in (16 or 32). */
  bitness = 32;
  /** A `Mnemonic` (0 = Mnemonic.Invalid). */
  mnemonic = 0;
  /** Last segment override prefix, or Register.None. */
  segmentPrefix: Register = Register.None;
  /** Number of explicit operands (0..4). */
  opCount = 0;
  op2Kind: OpKind = OpKind.None;
  op3Kind: OpKind = OpKind.None;
  op2Register: Register = Register.None;
  op3Register: Register = Register.None;
  /** Encoded displacement size in bytes (0, 1, 2 or 4). */
  memDisplSize = 0;
  /** Size of the memory operand. */
  memSize: MemorySize = MemorySize.Unknown;
  /** Second immediate (ENTER's nesting level). */
  immediate2 = 0;
  /** Selector of a far pointer. */
  farSelector = 0;
  /**
   * The opcode's last byte and the ModRM byte as encoded, `opcode << 8 | modrm` (the ModRM byte 0 when
   * the instruction has none). An x87 instruction's low 11 bits are the opcode the FPU records (FOP).
   */
  opcodeModrm = 0;

  /** Address (offset in CS) of the first byte, as passed to decode. */
  get ip(): number {
    return this.rawIp >>> 0;
  }
  set ip(value: number) {
    this.rawIp = value | 0;
  }

  /**
   * Displacement of the memory operand: sign-extended from its encoded size, except for an absolute
   * address (no base, no index), which is unsigned (0 when absent).
   */
  get memDisplacement(): number {
    return this.memBase === Register.None && this.memIndex === Register.None
      ? this.rawDisplacement >>> 0
      : this.rawDisplacement;
  }
  set memDisplacement(value: number) {
    this.rawDisplacement = value | 0;
  }

  /** First immediate, zero-extended from the operand's width (sign extension already applied for Immediate8toN). */
  get immediate(): number {
    return this.rawImmediate >>> 0;
  }
  set immediate(value: number) {
    this.rawImmediate = value | 0;
  }

  /** Near branch target, or the offset of a far pointer. */
  get branchTarget(): number {
    return this.rawBranchTarget >>> 0;
  }
  set branchTarget(value: number) {
    this.rawBranchTarget = value | 0;
  }

  /** Address of the next instruction, wrapped like IP (16-bit code) or EIP. */
  get nextIp(): number {
    const next = this.rawIp + this.length;
    return this.bitness === 16 ? next & 0xffff : next >>> 0;
  }

  get flowControl(): FlowControl {
    return (this.attributes & CodeAttr.FLOW_MASK) as FlowControl;
  }

  get hasLock(): boolean {
    return (this.prefixes & Prefix.Lock) !== 0;
  }

  get hasRep(): boolean {
    return (this.prefixes & Prefix.Rep) !== 0;
  }

  get hasRepne(): boolean {
    return (this.prefixes & Prefix.Repne) !== 0;
  }

  /** Kind of operand `n` (0..3). */
  opKind(n: number): OpKind {
    switch (n) {
      case 0:
        return this.op0Kind;
      case 1:
        return this.op1Kind;
      case 2:
        return this.op2Kind;
      case 3:
        return this.op3Kind;
      default:
        return OpKind.None;
    }
  }

  /** Register of operand `n` when its kind is {@link OpKind.Register}. */
  opRegister(n: number): Register {
    switch (n) {
      case 0:
        return this.op0Register;
      case 1:
        return this.op1Register;
      case 2:
        return this.op2Register;
      case 3:
        return this.op3Register;
      default:
        return Register.None;
    }
  }

  /** Copies every field of `other` into this record. */
  copyFrom(other: Instruction): void {
    this.rawIp = other.rawIp;
    this.length = other.length;
    this.bitness = other.bitness;
    this.code = other.code;
    this.mnemonic = other.mnemonic;
    this.attributes = other.attributes;
    this.operandSize = other.operandSize;
    this.addressSize = other.addressSize;
    this.prefixes = other.prefixes;
    this.segmentPrefix = other.segmentPrefix;
    this.opCount = other.opCount;
    this.op0Kind = other.op0Kind;
    this.op1Kind = other.op1Kind;
    this.op2Kind = other.op2Kind;
    this.op3Kind = other.op3Kind;
    this.op0Register = other.op0Register;
    this.op1Register = other.op1Register;
    this.op2Register = other.op2Register;
    this.op3Register = other.op3Register;
    this.memBase = other.memBase;
    this.memIndex = other.memIndex;
    this.memScale = other.memScale;
    this.rawDisplacement = other.rawDisplacement;
    this.memDisplSize = other.memDisplSize;
    this.memSegment = other.memSegment;
    this.memSize = other.memSize;
    this.rawImmediate = other.rawImmediate;
    this.immediate2 = other.immediate2;
    this.rawBranchTarget = other.rawBranchTarget;
    this.farSelector = other.farSelector;
    this.opcodeModrm = other.opcodeModrm;
  }
}
