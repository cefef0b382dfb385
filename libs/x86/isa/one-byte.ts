import type { IsaSection } from './section.js';

/**
 * The one-byte opcode map (SDM vol. 2 Table A-2) and its ModRM groups (Table A-6), x87 excepted.
 * Prefix bytes (26 2E 36 3E 64 65 66 67 F0 F2 F3) and the 0F escape are handled by the decoder.
 * C4/C5 (LES/LDS), 62 (BOUND) and 8F (POP) need a memory operand or ModRM.reg 0, so the VEX, EVEX and
 * XOP encodings that reuse them decode as invalid here, as on a P6.
 */
export const ONE_BYTE: readonly IsaSection[] = [
  {
    feature: 'I8086',
    rows: `
00 /r     | ADD Eb,Gb        | lock
01 /r     | ADD Ev,Gv        | lock
02 /r     | ADD Gb,Eb        |
03 /r     | ADD Gv,Ev        |
04        | ADD AL,Ib        |
05        | ADD eAX,Iz       |
06        | PUSH ES          | osz sw sens
07        | POP ES           | osz sr sens segload
08 /r     | OR Eb,Gb         | lock
09 /r     | OR Ev,Gv         | lock
0A /r     | OR Gb,Eb         |
0B /r     | OR Gv,Ev         |
0C        | OR AL,Ib         |
0D        | OR eAX,Iz        |
0E        | PUSH CS          | osz sw sens
10 /r     | ADC Eb,Gb        | lock
11 /r     | ADC Ev,Gv        | lock
12 /r     | ADC Gb,Eb        |
13 /r     | ADC Gv,Ev        |
14        | ADC AL,Ib        |
15        | ADC eAX,Iz       |
16        | PUSH SS          | osz sw sens
17        | POP SS           | osz sr sens segload
18 /r     | SBB Eb,Gb        | lock
19 /r     | SBB Ev,Gv        | lock
1A /r     | SBB Gb,Eb        |
1B /r     | SBB Gv,Ev        |
1C        | SBB AL,Ib        |
1D        | SBB eAX,Iz       |
1E        | PUSH DS          | osz sw sens
1F        | POP DS           | osz sr sens segload
20 /r     | AND Eb,Gb        | lock
21 /r     | AND Ev,Gv        | lock
22 /r     | AND Gb,Eb        |
23 /r     | AND Gv,Ev        |
24        | AND AL,Ib        |
25        | AND eAX,Iz       |
27        | DAA              |
28 /r     | SUB Eb,Gb        | lock
29 /r     | SUB Ev,Gv        | lock
2A /r     | SUB Gb,Eb        |
2B /r     | SUB Gv,Ev        |
2C        | SUB AL,Ib        |
2D        | SUB eAX,Iz       |
2F        | DAS              |
30 /r     | XOR Eb,Gb        | lock
31 /r     | XOR Ev,Gv        | lock
32 /r     | XOR Gb,Eb        |
33 /r     | XOR Gv,Ev        |
34        | XOR AL,Ib        |
35        | XOR eAX,Iz       |
37        | AAA              |
38 /r     | CMP Eb,Gb        | r
39 /r     | CMP Ev,Gv        | r
3A /r     | CMP Gb,Eb        |
3B /r     | CMP Gv,Ev        |
3C        | CMP AL,Ib        |
3D        | CMP eAX,Iz       |
3F        | AAS              |
40+r      | INC Zv           |
48+r      | DEC Zv           |
50+r      | PUSH Zv          | sw
58+r      | POP Zv           | sr
70        | JO Jb            | jcc
71        | JNO Jb           | jcc
72        | JB Jb            | jcc
73        | JAE Jb           | jcc
74        | JE Jb            | jcc
75        | JNE Jb           | jcc
76        | JBE Jb           | jcc
77        | JA Jb            | jcc
78        | JS Jb            | jcc
79        | JNS Jb           | jcc
7A        | JP Jb            | jcc
7B        | JNP Jb           | jcc
7C        | JL Jb            | jcc
7D        | JGE Jb           | jcc
7E        | JLE Jb           | jcc
7F        | JG Jb            | jcc
# Group 1. 82 is an alias of 80 (invalid only in 64-bit mode).
80 /0     | ADD Eb,Ib        | lock
80 /1     | OR Eb,Ib         | lock
80 /2     | ADC Eb,Ib        | lock
80 /3     | SBB Eb,Ib        | lock
80 /4     | AND Eb,Ib        | lock
80 /5     | SUB Eb,Ib        | lock
80 /6     | XOR Eb,Ib        | lock
80 /7     | CMP Eb,Ib        | r
81 /0     | ADD Ev,Iz        | lock
81 /1     | OR Ev,Iz         | lock
81 /2     | ADC Ev,Iz        | lock
81 /3     | SBB Ev,Iz        | lock
81 /4     | AND Ev,Iz        | lock
81 /5     | SUB Ev,Iz        | lock
81 /6     | XOR Ev,Iz        | lock
81 /7     | CMP Ev,Iz        | r
82 /0     | ADD Eb,Ib        | lock
82 /1     | OR Eb,Ib         | lock
82 /2     | ADC Eb,Ib        | lock
82 /3     | SBB Eb,Ib        | lock
82 /4     | AND Eb,Ib        | lock
82 /5     | SUB Eb,Ib        | lock
82 /6     | XOR Eb,Ib        | lock
82 /7     | CMP Eb,Ib        | r
83 /0     | ADD Ev,Ibs       | lock
83 /1     | OR Ev,Ibs        | lock
83 /2     | ADC Ev,Ibs       | lock
83 /3     | SBB Ev,Ibs       | lock
83 /4     | AND Ev,Ibs       | lock
83 /5     | SUB Ev,Ibs       | lock
83 /6     | XOR Ev,Ibs       | lock
83 /7     | CMP Ev,Ibs       | r
84 /r     | TEST Eb,Gb       | r
85 /r     | TEST Ev,Gv       | r
# XCHG with memory locks the bus by itself; an explicit LOCK is allowed.
86 /r     | XCHG Eb,Gb       | lock
87 /r     | XCHG Ev,Gv       | lock
88 /r     | MOV Eb,Gb        | w
89 /r     | MOV Ev,Gv        | w
8A /r     | MOV Gb,Eb        |
8B /r     | MOV Gv,Ev        |
# Segment registers 6 and 7 do not exist; CS cannot be loaded by MOV.
8C /0     | MOV Rv/Mw,Sw     | w sens
8C /1     | MOV Rv/Mw,Sw     | w sens
8C /2     | MOV Rv/Mw,Sw     | w sens
8C /3     | MOV Rv/Mw,Sw     | w sens
8C /4     | MOV Rv/Mw,Sw     | w sens
8C /5     | MOV Rv/Mw,Sw     | w sens
8D /r     | LEA Gv,M         | nomem
8E /0     | MOV Sw,Rv/Mw     | sens segload
8E /2     | MOV Sw,Rv/Mw     | sens segload
8E /3     | MOV Sw,Rv/Mw     | sens segload
8E /4     | MOV Sw,Rv/Mw     | sens segload
8E /5     | MOV Sw,Rv/Mw     | sens segload
8F /0     | POP Ev           | w sr
90        | NOP              |
F3 90     | PAUSE            |
91        | XCHG Zv,eAX      |
92        | XCHG Zv,eAX      |
93        | XCHG Zv,eAX      |
94        | XCHG Zv,eAX      |
95        | XCHG Zv,eAX      |
96        | XCHG Zv,eAX      |
97        | XCHG Zv,eAX      |
98        | CBW/CWDE         | osz
99        | CWD/CDQ          | osz
9A        | CALL Ap          | call far sens sw
9B        | WAIT             |
9C        | PUSHF/PUSHFD     | osz sw sens
9D        | POPF/POPFD       | osz sr sens
9E        | SAHF             |
9F        | LAHF             |
A0        | MOV AL,Ob        |
A1        | MOV eAX,Ov       |
A2        | MOV Ob,AL        | w
A3        | MOV Ov,eAX       | w
A4        | MOVSB Yb,Xb      |
A5        | MOVSW/MOVSD Yv,Xv |
A6        | CMPSB Xb,Yb      | cmp
A7        | CMPSW/CMPSD Xv,Yv | cmp
A8        | TEST AL,Ib       |
A9        | TEST eAX,Iz      |
AA        | STOSB Yb,AL      |
AB        | STOSW/STOSD Yv,eAX |
AC        | LODSB AL,Xb      |
AD        | LODSW/LODSD eAX,Xv |
AE        | SCASB AL,Yb      | cmp
AF        | SCASW/SCASD eAX,Yv | cmp
B0+r      | MOV Zb,Ib        |
B8+r      | MOV Zv,Iz        |
C2        | RET Iw           | ret osz sr
C3        | RET              | ret osz sr
C4 /r     | LES Gv,Mp        | sens segload
C5 /r     | LDS Gv,Mp        | sens segload
C6 /0     | MOV Eb,Ib        | w
C7 /0     | MOV Ev,Iz        | w
C9        | LEAVE            | osz sr
CA        | RETF Iw          | ret far sens osz sr
CB        | RETF             | ret far sens osz sr
CC        | INT3             | int sens sw
CD        | INT Ib           | int sens sw
CE        | INTO             | int sens sw
CF        | IRET/IRETD       | ret far sens osz serial sr
# Group 2; /6 is an undocumented alias of /4 that every IA-32 CPU executes.
D0 /0     | ROL Eb,1         |
D0 /1     | ROR Eb,1         |
D0 /2     | RCL Eb,1         |
D0 /3     | RCR Eb,1         |
D0 /4     | SHL Eb,1         |
D0 /5     | SHR Eb,1         |
D0 /6     | SAL Eb,1         |
D0 /7     | SAR Eb,1         |
D1 /0     | ROL Ev,1         |
D1 /1     | ROR Ev,1         |
D1 /2     | RCL Ev,1         |
D1 /3     | RCR Ev,1         |
D1 /4     | SHL Ev,1         |
D1 /5     | SHR Ev,1         |
D1 /6     | SAL Ev,1         |
D1 /7     | SAR Ev,1         |
D2 /0     | ROL Eb,CL        |
D2 /1     | ROR Eb,CL        |
D2 /2     | RCL Eb,CL        |
D2 /3     | RCR Eb,CL        |
D2 /4     | SHL Eb,CL        |
D2 /5     | SHR Eb,CL        |
D2 /6     | SAL Eb,CL        |
D2 /7     | SAR Eb,CL        |
D3 /0     | ROL Ev,CL        |
D3 /1     | ROR Ev,CL        |
D3 /2     | RCL Ev,CL        |
D3 /3     | RCR Ev,CL        |
D3 /4     | SHL Ev,CL        |
D3 /5     | SHR Ev,CL        |
D3 /6     | SAL Ev,CL        |
D3 /7     | SAR Ev,CL        |
D4        | AAM Ib           |
D5        | AAD Ib           |
# SALC: undocumented, executed by every IA-32 CPU.
D6        | SALC             |
D7        | XLATB Mxlat      | r
a16 E0    | LOOPNE Jb        | jcc
a32 E0    | LOOPNE Jb        | jcc
a16 E1    | LOOPE Jb         | jcc
a32 E1    | LOOPE Jb         | jcc
a16 E2    | LOOP Jb          | jcc
a32 E2    | LOOP Jb          | jcc
a16 E3    | JCXZ Jb          | jcc
a32 E3    | JECXZ Jb         | jcc
E4        | IN AL,Ib         | io sens
E5        | IN eAX,Ib        | io sens
E6        | OUT Ib,AL        | io sens
E7        | OUT Ib,eAX       | io sens
E8        | CALL Jz          | call sw
E9        | JMP Jz           | jmp
EA        | JMP Ap           | jmp far sens
EB        | JMP Jb           | jmp
EC        | IN AL,DX         | io sens
ED        | IN eAX,DX        | io sens
EE        | OUT DX,AL        | io sens
EF        | OUT DX,eAX       | io sens
F4        | HLT              | priv
F5        | CMC              |
# Group 3; /1 is an undocumented alias of /0.
F6 /0     | TEST Eb,Ib       | r
F6 /1     | TEST Eb,Ib       | r
F6 /2     | NOT Eb           | lock
F6 /3     | NEG Eb           | lock
F6 /4     | MUL Eb           | r
F6 /5     | IMUL Eb          | r
F6 /6     | DIV Eb           | r
F6 /7     | IDIV Eb          | r
F7 /0     | TEST Ev,Iz       | r
F7 /1     | TEST Ev,Iz       | r
F7 /2     | NOT Ev           | lock
F7 /3     | NEG Ev           | lock
F7 /4     | MUL Ev           | r
F7 /5     | IMUL Ev          | r
F7 /6     | DIV Ev           | r
F7 /7     | IDIV Ev          | r
F8        | CLC              |
F9        | STC              |
FA        | CLI              | sens
FB        | STI              | sens
FC        | CLD              |
FD        | STD              |
FE /0     | INC Eb           | lock
FE /1     | DEC Eb           | lock
FF /0     | INC Ev           | lock
FF /1     | DEC Ev           | lock
FF /2     | CALL Ev          | icall r sw
FF /3     | CALL Mp          | icall far sens r sw
FF /4     | JMP Ev           | ijmp r
FF /5     | JMP Mp           | ijmp far sens r
FF /6     | PUSH Ev          | r sw
`,
  },
  {
    feature: 'I186',
    rows: `
60        | PUSHA/PUSHAD     | osz sw
61        | POPA/POPAD       | osz sr
62 /r     | BOUND Gv,Ma      | r
68        | PUSH Iz          | sw
69 /r     | IMUL Gv,Ev,Iz    |
6A        | PUSH Ibs         | sw
6B /r     | IMUL Gv,Ev,Ibs   |
6C        | INSB Yb,DX       | io sens
6D        | INSW/INSD Yz,DX  | io sens
6E        | OUTSB DX,Xb      | io sens
6F        | OUTSW/OUTSD DX,Xz | io sens
C0 /0     | ROL Eb,Ib        |
C0 /1     | ROR Eb,Ib        |
C0 /2     | RCL Eb,Ib        |
C0 /3     | RCR Eb,Ib        |
C0 /4     | SHL Eb,Ib        |
C0 /5     | SHR Eb,Ib        |
C0 /6     | SAL Eb,Ib        |
C0 /7     | SAR Eb,Ib        |
C1 /0     | ROL Ev,Ib        |
C1 /1     | ROR Ev,Ib        |
C1 /2     | RCL Ev,Ib        |
C1 /3     | RCR Ev,Ib        |
C1 /4     | SHL Ev,Ib        |
C1 /5     | SHR Ev,Ib        |
C1 /6     | SAL Ev,Ib        |
C1 /7     | SAR Ev,Ib        |
C8        | ENTER Iw,Ib      | osz sw sr
`,
  },
  {
    feature: 'I286',
    rows: `
63 /r     | ARPL Rv/Mw,Gv    | sens
`,
  },
  {
    feature: 'I386',
    rows: `
# INT1 (ICEBP): undocumented until recently, executed by every IA-32 CPU.
F1        | INT1             | int sens sw
`,
  },
];
