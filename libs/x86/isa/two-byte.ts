import type { IsaSection } from './section.js';

/**
 * The two-byte opcode map 0F xx (SDM vol. 2 Table A-3) without the MMX/SSE rows (see simd.ts), and its
 * groups 6, 7, 8, 9, 15 and 16 (Table A-6). Encodings that later CPUs gave to VMX, SMAP, XSAVE, RDRAND,
 * CET and similar extensions are not listed: on the P6-class CPU plex86 models they raise #UD, or (the
 * hint-NOP space 0F 18-0F 1F) execute as NOPs.
 */
export const TWO_BYTE: readonly IsaSection[] = [
  {
    feature: 'I286',
    rows: `
0F 00 /0  | SLDT Rv/Mw       | w sens
0F 00 /1  | STR Rv/Mw        | w sens
0F 00 /2  | LLDT Rv/Mw        | r priv serial
0F 00 /3  | LTR Rv/Mw         | r priv serial
0F 00 /4  | VERR Rv/Mw        | r sens
0F 00 /5  | VERW Rv/Mw        | r sens
0F 01 /0 mem | SGDT Ms       | w sens osz
0F 01 /1 mem | SIDT Ms       | w sens osz
0F 01 /2 mem | LGDT Ms       | r priv serial osz
0F 01 /3 mem | LIDT Ms       | r priv serial osz
0F 01 /4  | SMSW Rv/Mw       | w sens
0F 01 /6  | LMSW Rv/Mw        | r priv
0F 02 /r  | LAR Gv,Rv/Mw     | r sens
0F 03 /r  | LSL Gv,Rv/Mw     | r sens
0F 06     | CLTS             | priv
`,
  },
  {
    feature: 'I386',
    rows: `
0F 20 /0  | MOV Rd,Cd        | priv nomod
0F 20 /2  | MOV Rd,Cd        | priv nomod
0F 20 /3  | MOV Rd,Cd        | priv nomod
0F 20 /4  | MOV Rd,Cd        | priv nomod
0F 21 /r  | MOV Rd,Dd        | priv nomod
0F 22 /0  | MOV Cd,Rd        | priv serial nomod
0F 22 /2  | MOV Cd,Rd        | priv serial nomod
0F 22 /3  | MOV Cd,Rd        | priv serial nomod
0F 22 /4  | MOV Cd,Rd        | priv serial nomod
0F 23 /r  | MOV Dd,Rd        | priv serial nomod
0F 80     | JO Jz            | jcc
0F 81     | JNO Jz           | jcc
0F 82     | JB Jz            | jcc
0F 83     | JAE Jz           | jcc
0F 84     | JE Jz            | jcc
0F 85     | JNE Jz           | jcc
0F 86     | JBE Jz           | jcc
0F 87     | JA Jz            | jcc
0F 88     | JS Jz            | jcc
0F 89     | JNS Jz           | jcc
0F 8A     | JP Jz            | jcc
0F 8B     | JNP Jz           | jcc
0F 8C     | JL Jz            | jcc
0F 8D     | JGE Jz           | jcc
0F 8E     | JLE Jz           | jcc
0F 8F     | JG Jz            | jcc
# SETcc ignores ModRM.reg.
0F 90 /r  | SETO Eb          | w
0F 91 /r  | SETNO Eb         | w
0F 92 /r  | SETB Eb          | w
0F 93 /r  | SETAE Eb         | w
0F 94 /r  | SETE Eb          | w
0F 95 /r  | SETNE Eb         | w
0F 96 /r  | SETBE Eb         | w
0F 97 /r  | SETA Eb          | w
0F 98 /r  | SETS Eb          | w
0F 99 /r  | SETNS Eb         | w
0F 9A /r  | SETP Eb          | w
0F 9B /r  | SETNP Eb         | w
0F 9C /r  | SETL Eb          | w
0F 9D /r  | SETGE Eb         | w
0F 9E /r  | SETLE Eb         | w
0F 9F /r  | SETG Eb          | w
0F A0     | PUSH FS          | osz sw sens
0F A1     | POP FS           | osz sr sens segload
0F A3 /r  | BT Ev,Gv         | r
0F A4 /r  | SHLD Ev,Gv,Ib    |
0F A5 /r  | SHLD Ev,Gv,CL    |
0F A8     | PUSH GS          | osz sw sens
0F A9     | POP GS           | osz sr sens segload
0F AB /r  | BTS Ev,Gv        | lock
0F AC /r  | SHRD Ev,Gv,Ib    |
0F AD /r  | SHRD Ev,Gv,CL    |
0F AF /r  | IMUL Gv,Ev       |
0F B2 /r  | LSS Gv,Mp        | sens segload
0F B3 /r  | BTR Ev,Gv        | lock
0F B4 /r  | LFS Gv,Mp        | sens segload
0F B5 /r  | LGS Gv,Mp        | sens segload
0F B6 /r  | MOVZX Gv,Eb      |
0F B7 /r  | MOVZX Gv,Ew      |
0F BA /4  | BT Ev,Ib         | r
0F BA /5  | BTS Ev,Ib        | lock
0F BA /6  | BTR Ev,Ib        | lock
0F BA /7  | BTC Ev,Ib        | lock
0F BB /r  | BTC Ev,Gv        | lock
# F3 0F BC/BD are TZCNT/LZCNT only with BMI1/ABM; without them the prefix is ignored.
0F BC /r  | BSF Gv,Ev        |
0F BD /r  | BSR Gv,Ev        |
0F BE /r  | MOVSX Gv,Eb      |
0F BF /r  | MOVSX Gv,Ew      |
`,
  },
  {
    feature: 'I486',
    rows: `
0F 01 /7 mem | INVLPG M      | priv serial nomem
0F 08     | INVD             | priv serial
0F 09     | WBINVD           | priv serial
0F B0 /r  | CMPXCHG Eb,Gb    | lock
0F B1 /r  | CMPXCHG Ev,Gv    | lock
0F C0 /r  | XADD Eb,Gb       | lock
0F C1 /r  | XADD Ev,Gv       | lock
0F C8+r   | BSWAP Zv         |
`,
  },
  {
    feature: 'Pentium',
    rows: `
0F 30     | WRMSR            | priv serial
0F 31     | RDTSC            | sens
0F 32     | RDMSR            | priv
0F A2     | CPUID            | sens serial
0F AA     | RSM              | sens serial exc
0F C7 /1 mem | CMPXCHG8B Mq  | lock
`,
  },
  {
    feature: 'P6',
    rows: `
0F 0B     | UD2              | exc
0F 33     | RDPMC            | sens
0F 34     | SYSENTER         | int sens
0F 35     | SYSEXIT          | ret priv
0F 40 /r  | CMOVO Gv,Ev      |
0F 41 /r  | CMOVNO Gv,Ev     |
0F 42 /r  | CMOVB Gv,Ev      |
0F 43 /r  | CMOVAE Gv,Ev     |
0F 44 /r  | CMOVE Gv,Ev      |
0F 45 /r  | CMOVNE Gv,Ev     |
0F 46 /r  | CMOVBE Gv,Ev     |
0F 47 /r  | CMOVA Gv,Ev      |
0F 48 /r  | CMOVS Gv,Ev      |
0F 49 /r  | CMOVNS Gv,Ev     |
0F 4A /r  | CMOVP Gv,Ev      |
0F 4B /r  | CMOVNP Gv,Ev     |
0F 4C /r  | CMOVL Gv,Ev      |
0F 4D /r  | CMOVGE Gv,Ev     |
0F 4E /r  | CMOVLE Gv,Ev     |
0F 4F /r  | CMOVG Gv,Ev      |
# UD0 and UD1 take a ModRM byte (and its SIB/displacement) on current CPUs.
0F B9 /r  | UD1 Gv,Ev        | exc nomem
0F FF /r  | UD0 Gv,Ev        | exc nomem
# The hint-NOP space: 0F 1F /0 is the documented long NOP, the rest is reserved for hints and runs as NOP.
# 0F 0D is AMD's PREFETCH/PREFETCHW; P6-family CPUs execute it as a hint NOP too.
0F 0D /r  | NOP Ev,Gv        | nomem
0F 18 /4  | NOP Ev,Gv        | nomem
0F 18 /5  | NOP Ev,Gv        | nomem
0F 18 /6  | NOP Ev,Gv        | nomem
0F 18 /7  | NOP Ev,Gv        | nomem
0F 18 reg | NOP Ev,Gv        | nomem
0F 19 /r  | NOP Ev,Gv        | nomem
0F 1A /r  | NOP Ev,Gv        | nomem
0F 1B /r  | NOP Ev,Gv        | nomem
0F 1C /r  | NOP Ev,Gv        | nomem
0F 1D /r  | NOP Ev,Gv        | nomem
0F 1E /r  | NOP Ev,Gv        | nomem
0F 1F /0  | NOP Ev           | nomem
0F 1F /1  | NOP Ev,Gv        | nomem
0F 1F /2  | NOP Ev,Gv        | nomem
0F 1F /3  | NOP Ev,Gv        | nomem
0F 1F /4  | NOP Ev,Gv        | nomem
0F 1F /5  | NOP Ev,Gv        | nomem
0F 1F /6  | NOP Ev,Gv        | nomem
0F 1F /7  | NOP Ev,Gv        | nomem
`,
  },
  {
    feature: 'Popcnt',
    rows: `
F3 0F B8 /r | POPCNT Gv,Ev   |
`,
  },
];
