// Bit layouts of the x87 control, status and tag words (Intel SDM vol. 1, 8.1).
//
// Plain constants rather than const enums, measured: in the bundle `plex86 run` runs, each use of a
// module-level constant is a load from the module's context and a small-integer check in V8's
// optimised code, where a const enum's member is a literal. With every constant of the FPU's modules
// and x87.ts written as a literal into the bundle, a micro-benchmark of the CPU's handlers took 28
// instead of 33 ns for FLD and FSTP m64real and 45 instead of 55 ns with FADD m64real between them;
// the bench workload's awk and sort steps, where escape instructions are about 7 % of the time,
// took as long (two rounds in turns, within the machine's noise).

// Status-word exception flags; the same bit positions are the masks in the control word.
export const IE = 0x0001;
export const DE = 0x0002;
export const ZE = 0x0004;
export const OE = 0x0008;
export const UE = 0x0010;
export const PE = 0x0020;
/** Stack fault: set with IE on stack overflow or underflow. */
export const SF = 0x0040;
/** Exception summary: an unmasked exception is pending. */
export const ES = 0x0080;
export const C0 = 0x0100;
export const C1 = 0x0200;
export const C2 = 0x0400;
export const C3 = 0x4000;
/** Busy; mirrors ES on every processor since the 80387. */
export const BUSY = 0x8000;
export const CC_MASK = C0 | C1 | C2 | C3;
export const EXC_MASK = 0x003f;
export const TOP_SHIFT = 11;
export const TOP_MASK = 0x3800;

// Control word.
export const PC_SHIFT = 8;
export const PC_MASK = 0x0300;
export const RC_SHIFT = 10;
export const RC_MASK = 0x0c00;
/** Precision control: 24, (reserved), 53 and 64 significand bits. */
export const PC_24 = 0;
export const PC_53 = 2;
export const PC_64 = 3;
/** Rounding control. */
export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;
export const CW_DEFAULT = 0x037f;

// Two-bit tags as stored by FSTENV/FSAVE.
export const TAG_VALID = 0;
export const TAG_ZERO = 1;
export const TAG_SPECIAL = 2;
export const TAG_EMPTY = 3;

// Operand classes of an 80-bit value.
export const CLS_ZERO = 0;
export const CLS_NORMAL = 1;
/** Exponent field 0 with a non-zero significand; includes pseudo-denormals (J bit set). */
export const CLS_DENORMAL = 2;
export const CLS_INF = 3;
export const CLS_QNAN = 4;
export const CLS_SNAN = 5;
/** Unnormals, pseudo-infinities and pseudo-NaNs: invalid operands on the 80387 and later. */
export const CLS_UNSUPPORTED = 6;

/** Exponent bias of the extended format. */
export const BIAS = 16383;
/** Exponent adjustment applied to results of unmasked overflow/underflow on the register stack. */
export const BIAS_ADJUST = 24576;

// The real indefinite (default QNaN): sign set, exponent all ones, significand 1.1000...
export const INDEFINITE_SE = 0xffff;
export const INDEFINITE_HI = 0xc0000000;
export const INDEFINITE_LO = 0;
