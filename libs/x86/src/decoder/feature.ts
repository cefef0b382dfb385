/** The CPU generation or extension an instruction form belongs to (`CODE_FEATURE[code]`). */
export enum Feature {
  /** 8086/8088. */
  I8086 = 0,
  I186,
  I286,
  I386,
  I486,
  /** Pentium: CPUID, RDTSC, RDMSR/WRMSR, CMPXCHG8B, RSM. */
  Pentium,
  /** P6 family: CMOVcc, FCMOVcc/FCOMI, SYSENTER/SYSEXIT, RDPMC, UD2, long NOP. */
  P6,
  /** x87 FPU (8087 to 387). */
  X87,
  Mmx,
  Sse,
  Sse2,
  Sse3,
  Ssse3,
  Sse41,
  Sse42,
  Popcnt,
}
