import type { IsaSection } from './section.js';

/**
 * The x87 escape opcodes D8-DF (SDM vol. 2 Tables ): memory forms by ModRM.reg, register
 * forms by the whole ModRM byte. FNSTSW/FNSTCW/FNSAVE/FNSTENV/FNCLEX/FNINIT are the no-wait forms; a
 * preceding 9B is a separate WAIT instruction. The register-form aliases (D9 D8+i, DC D0+i, DC D8+i,
 * DD C8+i, DE D0+i, DF C8+i, DF D0+i, DF D8+i) are undocumented but executed by every x87 since the 387.
 */
export const X87: readonly IsaSection[] = [
  {
    feature: 'X87',
    flags: 'x87',
    rows: `
D8 /0 mem | FADD Mfs         | r
D8 /1 mem | FMUL Mfs         | r
D8 /2 mem | FCOM Mfs         | r
D8 /3 mem | FCOMP Mfs        | r
D8 /4 mem | FSUB Mfs         | r
D8 /5 mem | FSUBR Mfs        | r
D8 /6 mem | FDIV Mfs         | r
D8 /7 mem | FDIVR Mfs        | r
D8 C0+i   | FADD ST0,STi     |
D8 C8+i   | FMUL ST0,STi     |
D8 D0+i   | FCOM ST0,STi     |
D8 D8+i   | FCOMP ST0,STi    |
D8 E0+i   | FSUB ST0,STi     |
D8 E8+i   | FSUBR ST0,STi    |
D8 F0+i   | FDIV ST0,STi     |
D8 F8+i   | FDIVR ST0,STi    |
D9 /0 mem | FLD Mfs          | r
D9 /2 mem | FST Mfs          | w
D9 /3 mem | FSTP Mfs         | w
D9 /4 mem | FLDENV Menv      | r osz
D9 /5 mem | FLDCW Mw         | r
D9 /6 mem | FNSTENV Menv     | w osz
D9 /7 mem | FNSTCW Mw        | w
D9 C0+i   | FLD STi          |
D9 C8+i   | FXCH ST0,STi     |
D9 D0     | FNOP             |
D9 D8+i   | FSTPNCE STi      |
D9 E0     | FCHS             |
D9 E1     | FABS             |
D9 E4     | FTST             |
D9 E5     | FXAM             |
D9 E8     | FLD1             |
D9 E9     | FLDL2T           |
D9 EA     | FLDL2E           |
D9 EB     | FLDPI            |
D9 EC     | FLDLG2           |
D9 ED     | FLDLN2           |
D9 EE     | FLDZ             |
D9 F0     | F2XM1            |
D9 F1     | FYL2X            |
D9 F2     | FPTAN            |
D9 F3     | FPATAN           |
D9 F4     | FXTRACT          |
D9 F5     | FPREM1           |
D9 F6     | FDECSTP          |
D9 F7     | FINCSTP          |
D9 F8     | FPREM            |
D9 F9     | FYL2XP1          |
D9 FA     | FSQRT            |
D9 FB     | FSINCOS          |
D9 FC     | FRNDINT          |
D9 FD     | FSCALE           |
D9 FE     | FSIN             |
D9 FF     | FCOS             |
DA /0 mem | FIADD Mdi        | r
DA /1 mem | FIMUL Mdi        | r
DA /2 mem | FICOM Mdi        | r
DA /3 mem | FICOMP Mdi       | r
DA /4 mem | FISUB Mdi        | r
DA /5 mem | FISUBR Mdi       | r
DA /6 mem | FIDIV Mdi        | r
DA /7 mem | FIDIVR Mdi       | r
DA E9     | FUCOMPP          |
DB /0 mem | FILD Mdi         | r
DB /2 mem | FIST Mdi         | w
DB /3 mem | FISTP Mdi        | w
DB /5 mem | FLD Mft          | r
DB /7 mem | FSTP Mft         | w
# 8087 FENI/FDISI and 287 FSETPM execute as no-ops on later FPUs.
DB E0     | FNENI            |
DB E1     | FNDISI           |
DB E2     | FNCLEX           |
DB E3     | FNINIT           |
DB E4     | FNSETPM          |
DC /0 mem | FADD Mfd         | r
DC /1 mem | FMUL Mfd         | r
DC /2 mem | FCOM Mfd         | r
DC /3 mem | FCOMP Mfd        | r
DC /4 mem | FSUB Mfd         | r
DC /5 mem | FSUBR Mfd        | r
DC /6 mem | FDIV Mfd         | r
DC /7 mem | FDIVR Mfd        | r
DC C0+i   | FADD STi,ST0     |
DC C8+i   | FMUL STi,ST0     |
DC D0+i   | FCOM ST0,STi     |
DC D8+i   | FCOMP ST0,STi    |
DC E0+i   | FSUBR STi,ST0    |
DC E8+i   | FSUB STi,ST0     |
DC F0+i   | FDIVR STi,ST0    |
DC F8+i   | FDIV STi,ST0     |
DD /0 mem | FLD Mfd          | r
DD /2 mem | FST Mfd          | w
DD /3 mem | FSTP Mfd         | w
DD /4 mem | FRSTOR Mst       | r osz
DD /6 mem | FNSAVE Mst       | w osz
DD /7 mem | FNSTSW Mw        | w
DD C0+i   | FFREE STi        |
DD C8+i   | FXCH ST0,STi     |
DD D0+i   | FST STi          |
DD D8+i   | FSTP STi         |
DD E0+i   | FUCOM ST0,STi    |
DD E8+i   | FUCOMP ST0,STi   |
DE /0 mem | FIADD Mwi        | r
DE /1 mem | FIMUL Mwi        | r
DE /2 mem | FICOM Mwi        | r
DE /3 mem | FICOMP Mwi       | r
DE /4 mem | FISUB Mwi        | r
DE /5 mem | FISUBR Mwi       | r
DE /6 mem | FIDIV Mwi        | r
DE /7 mem | FIDIVR Mwi       | r
DE C0+i   | FADDP STi,ST0    |
DE C8+i   | FMULP STi,ST0    |
DE D0+i   | FCOMP ST0,STi    |
DE D9     | FCOMPP           |
DE E0+i   | FSUBRP STi,ST0   |
DE E8+i   | FSUBP STi,ST0    |
DE F0+i   | FDIVRP STi,ST0   |
DE F8+i   | FDIVP STi,ST0    |
DF /0 mem | FILD Mwi         | r
DF /2 mem | FIST Mwi         | w
DF /3 mem | FISTP Mwi        | w
DF /4 mem | FBLD Mbcd        | r
DF /5 mem | FILD Mqi         | r
DF /6 mem | FBSTP Mbcd       | w
DF /7 mem | FISTP Mqi        | w
DF C0+i   | FFREEP STi       |
DF C8+i   | FXCH ST0,STi     |
DF D0+i   | FSTP STi         |
DF D8+i   | FSTP STi         |
DF E0     | FNSTSW AX        |
`,
  },
  {
    feature: 'P6',
    flags: 'x87',
    rows: `
DA C0+i   | FCMOVB ST0,STi   |
DA C8+i   | FCMOVE ST0,STi   |
DA D0+i   | FCMOVBE ST0,STi  |
DA D8+i   | FCMOVU ST0,STi   |
DB C0+i   | FCMOVNB ST0,STi  |
DB C8+i   | FCMOVNE ST0,STi  |
DB D0+i   | FCMOVNBE ST0,STi |
DB D8+i   | FCMOVNU ST0,STi  |
DB E8+i   | FUCOMI ST0,STi   |
DB F0+i   | FCOMI ST0,STi    |
DF E8+i   | FUCOMIP ST0,STi  |
DF F0+i   | FCOMIP ST0,STi   |
`,
  },
  {
    feature: 'Sse3',
    flags: 'x87',
    rows: `
DB /1 mem | FISTTP Mdi       | w
DD /1 mem | FISTTP Mqi       | w
DF /1 mem | FISTTP Mwi       | w
`,
  },
];
