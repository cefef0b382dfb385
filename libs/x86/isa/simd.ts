import type { IsaSection } from './section.js';

/**
 * MMX, SSE, SSE2 and SSE3 in the two-byte map (SDM vol. 2 Tables ). The mandatory prefix
 * (NP, 66, F3, F2) selects between the MMX form, the packed-single, packed-double, scalar-single and
 * scalar-double forms; a combination not listed is #UD.
 */
export const SIMD: readonly IsaSection[] = [
  {
    feature: 'Mmx',
    rows: `
NP 0F 60 /r | PUNPCKLBW Pq,Qd  |
NP 0F 61 /r | PUNPCKLWD Pq,Qd  |
NP 0F 62 /r | PUNPCKLDQ Pq,Qd  |
NP 0F 63 /r | PACKSSWB Pq,Qq   |
NP 0F 64 /r | PCMPGTB Pq,Qq    |
NP 0F 65 /r | PCMPGTW Pq,Qq    |
NP 0F 66 /r | PCMPGTD Pq,Qq    |
NP 0F 67 /r | PACKUSWB Pq,Qq   |
NP 0F 68 /r | PUNPCKHBW Pq,Qq  |
NP 0F 69 /r | PUNPCKHWD Pq,Qq  |
NP 0F 6A /r | PUNPCKHDQ Pq,Qq  |
NP 0F 6B /r | PACKSSDW Pq,Qq   |
NP 0F 6E /r | MOVD Pq,Ed       |
NP 0F 6F /r | MOVQ Pq,Qq       |
NP 0F 71 /2 reg | PSRLW Nq,Ib  |
NP 0F 71 /4 reg | PSRAW Nq,Ib  |
NP 0F 71 /6 reg | PSLLW Nq,Ib  |
NP 0F 72 /2 reg | PSRLD Nq,Ib  |
NP 0F 72 /4 reg | PSRAD Nq,Ib  |
NP 0F 72 /6 reg | PSLLD Nq,Ib  |
NP 0F 73 /2 reg | PSRLQ Nq,Ib  |
NP 0F 73 /6 reg | PSLLQ Nq,Ib  |
NP 0F 74 /r | PCMPEQB Pq,Qq    |
NP 0F 75 /r | PCMPEQW Pq,Qq    |
NP 0F 76 /r | PCMPEQD Pq,Qq    |
NP 0F 77    | EMMS             | mmx
NP 0F 7E /r | MOVD Ed,Pq       | w
NP 0F 7F /r | MOVQ Qq,Pq       | w
NP 0F D1 /r | PSRLW Pq,Qq      |
NP 0F D2 /r | PSRLD Pq,Qq      |
NP 0F D3 /r | PSRLQ Pq,Qq      |
NP 0F D5 /r | PMULLW Pq,Qq     |
NP 0F D8 /r | PSUBUSB Pq,Qq    |
NP 0F D9 /r | PSUBUSW Pq,Qq    |
NP 0F DB /r | PAND Pq,Qq       |
NP 0F DC /r | PADDUSB Pq,Qq    |
NP 0F DD /r | PADDUSW Pq,Qq    |
NP 0F DF /r | PANDN Pq,Qq      |
NP 0F E1 /r | PSRAW Pq,Qq      |
NP 0F E2 /r | PSRAD Pq,Qq      |
NP 0F E5 /r | PMULHW Pq,Qq     |
NP 0F E8 /r | PSUBSB Pq,Qq     |
NP 0F E9 /r | PSUBSW Pq,Qq     |
NP 0F EB /r | POR Pq,Qq        |
NP 0F EC /r | PADDSB Pq,Qq     |
NP 0F ED /r | PADDSW Pq,Qq     |
NP 0F EF /r | PXOR Pq,Qq       |
NP 0F F1 /r | PSLLW Pq,Qq      |
NP 0F F2 /r | PSLLD Pq,Qq      |
NP 0F F3 /r | PSLLQ Pq,Qq      |
NP 0F F5 /r | PMADDWD Pq,Qq    |
NP 0F F8 /r | PSUBB Pq,Qq      |
NP 0F F9 /r | PSUBW Pq,Qq      |
NP 0F FA /r | PSUBD Pq,Qq      |
NP 0F FC /r | PADDB Pq,Qq      |
NP 0F FD /r | PADDW Pq,Qq      |
NP 0F FE /r | PADDD Pq,Qq      |
`,
  },
  {
    feature: 'Sse',
    rows: `
NP 0F 10 /r | MOVUPS Vps,Wps   |
F3 0F 10 /r | MOVSS Vss,Wss    |
NP 0F 11 /r | MOVUPS Wps,Vps   | w
F3 0F 11 /r | MOVSS Wss,Vss    | w
NP 0F 12 mem | MOVLPS Vq,Mq    |
NP 0F 12 reg | MOVHLPS Vq,Uq   |
NP 0F 13 mem | MOVLPS Mq,Vq    | w
NP 0F 14 /r | UNPCKLPS Vps,Wps |
NP 0F 15 /r | UNPCKHPS Vps,Wps |
NP 0F 16 mem | MOVHPS Vq,Mq    |
NP 0F 16 reg | MOVLHPS Vq,Uq   |
NP 0F 17 mem | MOVHPS Mq,Vq    | w
0F 18 /0 mem | PREFETCHNTA Mb | nomem
0F 18 /1 mem | PREFETCHT0 Mb  | nomem
0F 18 /2 mem | PREFETCHT1 Mb  | nomem
0F 18 /3 mem | PREFETCHT2 Mb  | nomem
NP 0F 28 /r | MOVAPS Vps,Wps   |
NP 0F 29 /r | MOVAPS Wps,Vps   | w
NP 0F 2A /r | CVTPI2PS Vps,Qq  |
F3 0F 2A /r | CVTSI2SS Vss,Ed  |
NP 0F 2B mem | MOVNTPS Mps,Vps | w
NP 0F 2C /r | CVTTPS2PI Pq,Wq  |
F3 0F 2C /r | CVTTSS2SI Gd,Wss |
NP 0F 2D /r | CVTPS2PI Pq,Wq   |
F3 0F 2D /r | CVTSS2SI Gd,Wss  |
NP 0F 2E /r | UCOMISS Vss,Wss  |
NP 0F 2F /r | COMISS Vss,Wss   |
NP 0F 50 reg | MOVMSKPS Gd,Ups |
NP 0F 51 /r | SQRTPS Vps,Wps   |
F3 0F 51 /r | SQRTSS Vss,Wss   |
NP 0F 52 /r | RSQRTPS Vps,Wps  |
F3 0F 52 /r | RSQRTSS Vss,Wss  |
NP 0F 53 /r | RCPPS Vps,Wps    |
F3 0F 53 /r | RCPSS Vss,Wss    |
NP 0F 54 /r | ANDPS Vps,Wps    |
NP 0F 55 /r | ANDNPS Vps,Wps   |
NP 0F 56 /r | ORPS Vps,Wps     |
NP 0F 57 /r | XORPS Vps,Wps    |
NP 0F 58 /r | ADDPS Vps,Wps    |
F3 0F 58 /r | ADDSS Vss,Wss    |
NP 0F 59 /r | MULPS Vps,Wps    |
F3 0F 59 /r | MULSS Vss,Wss    |
NP 0F 5C /r | SUBPS Vps,Wps    |
F3 0F 5C /r | SUBSS Vss,Wss    |
NP 0F 5D /r | MINPS Vps,Wps    |
F3 0F 5D /r | MINSS Vss,Wss    |
NP 0F 5E /r | DIVPS Vps,Wps    |
F3 0F 5E /r | DIVSS Vss,Wss    |
NP 0F 5F /r | MAXPS Vps,Wps    |
F3 0F 5F /r | MAXSS Vss,Wss    |
NP 0F 70 /r | PSHUFW Pq,Qq,Ib  |
NP 0F AE /0 mem | FXSAVE Mfx   | w
NP 0F AE /1 mem | FXRSTOR Mfx  | r
NP 0F AE /2 mem | LDMXCSR Md   | r sse
NP 0F AE /3 mem | STMXCSR Md   | w sse
NP 0F AE F8+i | SFENCE         |
NP 0F C2 /r | CMPPS Vps,Wps,Ib |
F3 0F C2 /r | CMPSS Vss,Wss,Ib |
NP 0F C4 /r | PINSRW Pq,Rd/Mw,Ib |
NP 0F C5 reg | PEXTRW Gd,Nq,Ib |
NP 0F C6 /r | SHUFPS Vps,Wps,Ib |
NP 0F D7 reg | PMOVMSKB Gd,Nq  |
NP 0F DA /r | PMINUB Pq,Qq     |
NP 0F DE /r | PMAXUB Pq,Qq     |
NP 0F E0 /r | PAVGB Pq,Qq      |
NP 0F E3 /r | PAVGW Pq,Qq      |
NP 0F E4 /r | PMULHUW Pq,Qq    |
NP 0F E7 mem | MOVNTQ Mq,Pq    | w
NP 0F EA /r | PMINSW Pq,Qq     |
NP 0F EE /r | PMAXSW Pq,Qq     |
NP 0F F6 /r | PSADBW Pq,Qq     |
NP 0F F7 reg | MASKMOVQ Ymaskq,Pq,Nq |
`,
  },
  {
    feature: 'Sse2',
    rows: `
66 0F 10 /r | MOVUPD Vpd,Wpd   |
F2 0F 10 /r | MOVSD Vsd,Wsd    |
66 0F 11 /r | MOVUPD Wpd,Vpd   | w
F2 0F 11 /r | MOVSD Wsd,Vsd    | w
66 0F 12 mem | MOVLPD Vq,Mq    |
66 0F 13 mem | MOVLPD Mq,Vq    | w
66 0F 14 /r | UNPCKLPD Vpd,Wpd |
66 0F 15 /r | UNPCKHPD Vpd,Wpd |
66 0F 16 mem | MOVHPD Vq,Mq    |
66 0F 17 mem | MOVHPD Mq,Vq    | w
66 0F 28 /r | MOVAPD Vpd,Wpd   |
66 0F 29 /r | MOVAPD Wpd,Vpd   | w
66 0F 2A /r | CVTPI2PD Vpd,Qq  |
F2 0F 2A /r | CVTSI2SD Vsd,Ed  |
66 0F 2B mem | MOVNTPD Mpd,Vpd | w
66 0F 2C /r | CVTTPD2PI Pq,Wpd |
F2 0F 2C /r | CVTTSD2SI Gd,Wsd |
66 0F 2D /r | CVTPD2PI Pq,Wpd  |
F2 0F 2D /r | CVTSD2SI Gd,Wsd  |
66 0F 2E /r | UCOMISD Vsd,Wsd  |
66 0F 2F /r | COMISD Vsd,Wsd   |
66 0F 50 reg | MOVMSKPD Gd,Upd |
66 0F 51 /r | SQRTPD Vpd,Wpd   |
F2 0F 51 /r | SQRTSD Vsd,Wsd   |
66 0F 54 /r | ANDPD Vpd,Wpd    |
66 0F 55 /r | ANDNPD Vpd,Wpd   |
66 0F 56 /r | ORPD Vpd,Wpd     |
66 0F 57 /r | XORPD Vpd,Wpd    |
66 0F 58 /r | ADDPD Vpd,Wpd    |
F2 0F 58 /r | ADDSD Vsd,Wsd    |
66 0F 59 /r | MULPD Vpd,Wpd    |
F2 0F 59 /r | MULSD Vsd,Wsd    |
NP 0F 5A /r | CVTPS2PD Vpd,Wq  |
66 0F 5A /r | CVTPD2PS Vps,Wpd |
F3 0F 5A /r | CVTSS2SD Vsd,Wss |
F2 0F 5A /r | CVTSD2SS Vss,Wsd |
NP 0F 5B /r | CVTDQ2PS Vps,Wdq |
66 0F 5B /r | CVTPS2DQ Vdq,Wps |
F3 0F 5B /r | CVTTPS2DQ Vdq,Wps |
66 0F 5C /r | SUBPD Vpd,Wpd    |
F2 0F 5C /r | SUBSD Vsd,Wsd    |
66 0F 5D /r | MINPD Vpd,Wpd    |
F2 0F 5D /r | MINSD Vsd,Wsd    |
66 0F 5E /r | DIVPD Vpd,Wpd    |
F2 0F 5E /r | DIVSD Vsd,Wsd    |
66 0F 5F /r | MAXPD Vpd,Wpd    |
F2 0F 5F /r | MAXSD Vsd,Wsd    |
66 0F 60 /r | PUNPCKLBW Vdq,Wdq |
66 0F 61 /r | PUNPCKLWD Vdq,Wdq |
66 0F 62 /r | PUNPCKLDQ Vdq,Wdq |
66 0F 63 /r | PACKSSWB Vdq,Wdq |
66 0F 64 /r | PCMPGTB Vdq,Wdq  |
66 0F 65 /r | PCMPGTW Vdq,Wdq  |
66 0F 66 /r | PCMPGTD Vdq,Wdq  |
66 0F 67 /r | PACKUSWB Vdq,Wdq |
66 0F 68 /r | PUNPCKHBW Vdq,Wdq |
66 0F 69 /r | PUNPCKHWD Vdq,Wdq |
66 0F 6A /r | PUNPCKHDQ Vdq,Wdq |
66 0F 6B /r | PACKSSDW Vdq,Wdq |
66 0F 6C /r | PUNPCKLQDQ Vdq,Wdq |
66 0F 6D /r | PUNPCKHQDQ Vdq,Wdq |
66 0F 6E /r | MOVD Vdq,Ed      |
66 0F 6F /r | MOVDQA Vdq,Wdq   |
F3 0F 6F /r | MOVDQU Vdq,Wdq   |
66 0F 70 /r | PSHUFD Vdq,Wdq,Ib |
F3 0F 70 /r | PSHUFHW Vdq,Wdq,Ib |
F2 0F 70 /r | PSHUFLW Vdq,Wdq,Ib |
66 0F 71 /2 reg | PSRLW Udq,Ib |
66 0F 71 /4 reg | PSRAW Udq,Ib |
66 0F 71 /6 reg | PSLLW Udq,Ib |
66 0F 72 /2 reg | PSRLD Udq,Ib |
66 0F 72 /4 reg | PSRAD Udq,Ib |
66 0F 72 /6 reg | PSLLD Udq,Ib |
66 0F 73 /2 reg | PSRLQ Udq,Ib |
66 0F 73 /3 reg | PSRLDQ Udq,Ib |
66 0F 73 /6 reg | PSLLQ Udq,Ib |
66 0F 73 /7 reg | PSLLDQ Udq,Ib |
66 0F 74 /r | PCMPEQB Vdq,Wdq  |
66 0F 75 /r | PCMPEQW Vdq,Wdq  |
66 0F 76 /r | PCMPEQD Vdq,Wdq  |
66 0F 7E /r | MOVD Ed,Vdq      | w
F3 0F 7E /r | MOVQ Vdq,Wq      |
66 0F 7F /r | MOVDQA Wdq,Vdq   | w
F3 0F 7F /r | MOVDQU Wdq,Vdq   | w
NP 0F AE E8+i | LFENCE         |
NP 0F AE F0+i | MFENCE         |
NP 0F AE /7 mem | CLFLUSH Mb   | r
66 0F C2 /r | CMPPD Vpd,Wpd,Ib |
F2 0F C2 /r | CMPSD Vsd,Wsd,Ib |
NP 0F C3 mem | MOVNTI Md,Gd    | w
66 0F C4 /r | PINSRW Vdq,Rd/Mw,Ib |
66 0F C5 reg | PEXTRW Gd,Udq,Ib |
66 0F C6 /r | SHUFPD Vpd,Wpd,Ib |
66 0F D1 /r | PSRLW Vdq,Wdq    |
66 0F D2 /r | PSRLD Vdq,Wdq    |
66 0F D3 /r | PSRLQ Vdq,Wdq    |
NP 0F D4 /r | PADDQ Pq,Qq      |
66 0F D4 /r | PADDQ Vdq,Wdq    |
66 0F D5 /r | PMULLW Vdq,Wdq   |
66 0F D6 /r | MOVQ Wq,Vdq      | w
F3 0F D6 reg | MOVQ2DQ Vdq,Nq  |
F2 0F D6 reg | MOVDQ2Q Pq,Udq  |
66 0F D7 reg | PMOVMSKB Gd,Udq |
66 0F D8 /r | PSUBUSB Vdq,Wdq  |
66 0F D9 /r | PSUBUSW Vdq,Wdq  |
66 0F DA /r | PMINUB Vdq,Wdq   |
66 0F DB /r | PAND Vdq,Wdq     |
66 0F DC /r | PADDUSB Vdq,Wdq  |
66 0F DD /r | PADDUSW Vdq,Wdq  |
66 0F DE /r | PMAXUB Vdq,Wdq   |
66 0F DF /r | PANDN Vdq,Wdq    |
66 0F E0 /r | PAVGB Vdq,Wdq    |
66 0F E1 /r | PSRAW Vdq,Wdq    |
66 0F E2 /r | PSRAD Vdq,Wdq    |
66 0F E3 /r | PAVGW Vdq,Wdq    |
66 0F E4 /r | PMULHUW Vdq,Wdq  |
66 0F E5 /r | PMULHW Vdq,Wdq   |
66 0F E6 /r | CVTTPD2DQ Vdq,Wpd |
F3 0F E6 /r | CVTDQ2PD Vpd,Wq  |
F2 0F E6 /r | CVTPD2DQ Vdq,Wpd |
66 0F E7 mem | MOVNTDQ Mdq,Vdq | w
66 0F E8 /r | PSUBSB Vdq,Wdq   |
66 0F E9 /r | PSUBSW Vdq,Wdq   |
66 0F EA /r | PMINSW Vdq,Wdq   |
66 0F EB /r | POR Vdq,Wdq      |
66 0F EC /r | PADDSB Vdq,Wdq   |
66 0F ED /r | PADDSW Vdq,Wdq   |
66 0F EE /r | PMAXSW Vdq,Wdq   |
66 0F EF /r | PXOR Vdq,Wdq     |
66 0F F1 /r | PSLLW Vdq,Wdq    |
66 0F F2 /r | PSLLD Vdq,Wdq    |
66 0F F3 /r | PSLLQ Vdq,Wdq    |
NP 0F F4 /r | PMULUDQ Pq,Qq    |
66 0F F4 /r | PMULUDQ Vdq,Wdq  |
66 0F F5 /r | PMADDWD Vdq,Wdq  |
66 0F F6 /r | PSADBW Vdq,Wdq   |
66 0F F7 reg | MASKMOVDQU Ymaskdq,Vdq,Udq |
66 0F F8 /r | PSUBB Vdq,Wdq    |
66 0F F9 /r | PSUBW Vdq,Wdq    |
66 0F FA /r | PSUBD Vdq,Wdq    |
NP 0F FB /r | PSUBQ Pq,Qq      |
66 0F FB /r | PSUBQ Vdq,Wdq    |
66 0F FC /r | PADDB Vdq,Wdq    |
66 0F FD /r | PADDW Vdq,Wdq    |
66 0F FE /r | PADDD Vdq,Wdq    |
`,
  },
  {
    feature: 'Sse3',
    rows: `
F3 0F 12 /r | MOVSLDUP Vps,Wps |
F2 0F 12 /r | MOVDDUP Vpd,Wq   |
F3 0F 16 /r | MOVSHDUP Vps,Wps |
66 0F 7C /r | HADDPD Vpd,Wpd   |
F2 0F 7C /r | HADDPS Vps,Wps   |
66 0F 7D /r | HSUBPD Vpd,Wpd   |
F2 0F 7D /r | HSUBPS Vps,Wps   |
66 0F D0 /r | ADDSUBPD Vpd,Wpd |
F2 0F D0 /r | ADDSUBPS Vps,Wps |
F2 0F F0 mem | LDDQU Vdq,Mdq   |
NP 0F 01 C8 | MONITOR          | priv
NP 0F 01 C9 | MWAIT            | priv
`,
  },
];
