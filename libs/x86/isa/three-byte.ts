import type { IsaSection } from './section.js';

/**
 * The three-byte maps 0F 38 xx and 0F 3A xx (SDM vol. 2 Tables ): SSSE3 (MMX and XMM forms),
 * SSE4.1 and SSE4.2. Encodings later extensions gave meaning to (MOVBE, SHA, AES-NI, ADX, GFNI, ...)
 * are #UD on the CPU plex86 models and are not listed.
 */
export const THREE_BYTE: readonly IsaSection[] = [
  {
    feature: 'Ssse3',
    rows: `
NP 0F 38 00 /r | PSHUFB Pq,Qq       |
66 0F 38 00 /r | PSHUFB Vdq,Wdq     |
NP 0F 38 01 /r | PHADDW Pq,Qq       |
66 0F 38 01 /r | PHADDW Vdq,Wdq     |
NP 0F 38 02 /r | PHADDD Pq,Qq       |
66 0F 38 02 /r | PHADDD Vdq,Wdq     |
NP 0F 38 03 /r | PHADDSW Pq,Qq      |
66 0F 38 03 /r | PHADDSW Vdq,Wdq    |
NP 0F 38 04 /r | PMADDUBSW Pq,Qq    |
66 0F 38 04 /r | PMADDUBSW Vdq,Wdq  |
NP 0F 38 05 /r | PHSUBW Pq,Qq       |
66 0F 38 05 /r | PHSUBW Vdq,Wdq     |
NP 0F 38 06 /r | PHSUBD Pq,Qq       |
66 0F 38 06 /r | PHSUBD Vdq,Wdq     |
NP 0F 38 07 /r | PHSUBSW Pq,Qq      |
66 0F 38 07 /r | PHSUBSW Vdq,Wdq    |
NP 0F 38 08 /r | PSIGNB Pq,Qq       |
66 0F 38 08 /r | PSIGNB Vdq,Wdq     |
NP 0F 38 09 /r | PSIGNW Pq,Qq       |
66 0F 38 09 /r | PSIGNW Vdq,Wdq     |
NP 0F 38 0A /r | PSIGND Pq,Qq       |
66 0F 38 0A /r | PSIGND Vdq,Wdq     |
NP 0F 38 0B /r | PMULHRSW Pq,Qq     |
66 0F 38 0B /r | PMULHRSW Vdq,Wdq   |
NP 0F 38 1C /r | PABSB Pq,Qq        |
66 0F 38 1C /r | PABSB Vdq,Wdq      |
NP 0F 38 1D /r | PABSW Pq,Qq        |
66 0F 38 1D /r | PABSW Vdq,Wdq      |
NP 0F 38 1E /r | PABSD Pq,Qq        |
66 0F 38 1E /r | PABSD Vdq,Wdq      |
NP 0F 3A 0F /r | PALIGNR Pq,Qq,Ib   |
66 0F 3A 0F /r | PALIGNR Vdq,Wdq,Ib |
`,
  },
  {
    feature: 'Sse41',
    rows: `
# PBLENDVB, BLENDVPS and BLENDVPD also read XMM0 implicitly.
66 0F 38 10 /r | PBLENDVB Vdq,Wdq   |
66 0F 38 14 /r | BLENDVPS Vps,Wps   |
66 0F 38 15 /r | BLENDVPD Vpd,Wpd   |
66 0F 38 17 /r | PTEST Vdq,Wdq      |
66 0F 38 20 /r | PMOVSXBW Vdq,Udq/Mq |
66 0F 38 21 /r | PMOVSXBD Vdq,Udq/Md |
66 0F 38 22 /r | PMOVSXBQ Vdq,Udq/Mw |
66 0F 38 23 /r | PMOVSXWD Vdq,Udq/Mq |
66 0F 38 24 /r | PMOVSXWQ Vdq,Udq/Md |
66 0F 38 25 /r | PMOVSXDQ Vdq,Udq/Mq |
66 0F 38 28 /r | PMULDQ Vdq,Wdq     |
66 0F 38 29 /r | PCMPEQQ Vdq,Wdq    |
66 0F 38 2A mem | MOVNTDQA Vdq,Mdq  |
66 0F 38 2B /r | PACKUSDW Vdq,Wdq   |
66 0F 38 30 /r | PMOVZXBW Vdq,Udq/Mq |
66 0F 38 31 /r | PMOVZXBD Vdq,Udq/Md |
66 0F 38 32 /r | PMOVZXBQ Vdq,Udq/Mw |
66 0F 38 33 /r | PMOVZXWD Vdq,Udq/Mq |
66 0F 38 34 /r | PMOVZXWQ Vdq,Udq/Md |
66 0F 38 35 /r | PMOVZXDQ Vdq,Udq/Mq |
66 0F 38 38 /r | PMINSB Vdq,Wdq     |
66 0F 38 39 /r | PMINSD Vdq,Wdq     |
66 0F 38 3A /r | PMINUW Vdq,Wdq     |
66 0F 38 3B /r | PMINUD Vdq,Wdq     |
66 0F 38 3C /r | PMAXSB Vdq,Wdq     |
66 0F 38 3D /r | PMAXSD Vdq,Wdq     |
66 0F 38 3E /r | PMAXUW Vdq,Wdq     |
66 0F 38 3F /r | PMAXUD Vdq,Wdq     |
66 0F 38 40 /r | PMULLD Vdq,Wdq     |
66 0F 38 41 /r | PHMINPOSUW Vdq,Wdq |
66 0F 3A 08 /r | ROUNDPS Vps,Wps,Ib |
66 0F 3A 09 /r | ROUNDPD Vpd,Wpd,Ib |
66 0F 3A 0A /r | ROUNDSS Vss,Wss,Ib |
66 0F 3A 0B /r | ROUNDSD Vsd,Wsd,Ib |
66 0F 3A 0C /r | BLENDPS Vps,Wps,Ib |
66 0F 3A 0D /r | BLENDPD Vpd,Wpd,Ib |
66 0F 3A 0E /r | PBLENDW Vdq,Wdq,Ib |
66 0F 3A 14 /r | PEXTRB Rd/Mb,Vdq,Ib | w
66 0F 3A 15 /r | PEXTRW Rd/Mw,Vdq,Ib | w
66 0F 3A 16 /r | PEXTRD Ed,Vdq,Ib   | w
66 0F 3A 17 /r | EXTRACTPS Ed,Vdq,Ib | w
66 0F 3A 20 /r | PINSRB Vdq,Rd/Mb,Ib |
66 0F 3A 21 /r | INSERTPS Vdq,Udq/Md,Ib |
66 0F 3A 22 /r | PINSRD Vdq,Ed,Ib   |
66 0F 3A 40 /r | DPPS Vps,Wps,Ib    |
66 0F 3A 41 /r | DPPD Vpd,Wpd,Ib    |
66 0F 3A 42 /r | MPSADBW Vdq,Wdq,Ib |
`,
  },
  {
    feature: 'Sse42',
    rows: `
66 0F 38 37 /r | PCMPGTQ Vdq,Wdq    |
F2 0F 38 F0 /r | CRC32 Gd,Eb        |
F2 0F 38 F1 /r | CRC32 Gd,Ev        |
66 0F 3A 60 /r | PCMPESTRM Vdq,Wdq,Ib |
66 0F 3A 61 /r | PCMPESTRI Vdq,Wdq,Ib |
66 0F 3A 62 /r | PCMPISTRM Vdq,Wdq,Ib |
66 0F 3A 63 /r | PCMPISTRI Vdq,Wdq,Ib |
`,
  },
];
