import { parseArgs } from 'node:util';
import * as monitor from '@plex86/monitor';
import type { Benchmark } from './index.js';
import { positiveInt } from './options.js';

/** What the benchmark uses of the monitor's FPU (services/monitor/src/fpu). */
interface FpuCore {
  execute(fop: number, ctl: number, mem: Uint8Array, off: number): number;
}
interface FpuModule {
  Fpu: new () => FpuCore;
  arithStats: { fast: number; slow: number };
  CTL_PROTECTED: number;
  CTL_OPSIZE32: number;
  CTL_NE: number;
}

/** The FPU as the monitor package exports it, bound by name. */
function fpuModule(): FpuModule {
  const m = monitor as unknown as Partial<FpuModule>;
  if (typeof m.Fpu !== 'function' || m.arithStats === undefined || m.CTL_PROTECTED === undefined) {
    throw new Error(
      '@plex86/monitor does not export its FPU: services/monitor/src/index.ts needs `export * from ./fpu/index.js`',
    );
  }
  return m as FpuModule;
}

/** FpuResult.Done and FpuResult.Store: the instruction completed. */
const DONE = 0;
const STORE = 1;

const USAGE = `plex86 bench fpu [--scale N] [--rounds N]

The x87 FPU core on FPU-heavy instruction streams, as the CPU issues them (opcode, operand bytes),
in MFLOPS of CPU time used, with the share of arithmetic that took the quick path (normal
operands, 64-bit precision, round to nearest, no exception):
  dot      FLD m64, FMUL m64, FADDP: a dot product of random doubles
  horner   FMUL ST0,ST1, FADD m64: polynomial evaluation
  mandel   z = z^2 + c on the register stack (FLD ST(i), FMUL, FSUBP, FADD, FXCH, FMULP)
  dot53    the dot product with 53-bit precision control (as Windows and FreeBSD set it)
  divsqrt  FLD m64, FDIV m64, FSQRT, FADDP
  trig     FLD m64, FSIN, FADDP (transcendental, counted as one flop)

  --scale N    multiplies the work (default 1)
  --rounds N   runs per workload; the best is reported, the median in brackets (default 3)`;

// FOPs ((escape & 7) << 8 | ModRM) of the instructions used.
const FLD_M64 = 0x505;
const FMUL_M64 = 0x40d;
const FADD_M64 = 0x405;
const FDIV_M64 = 0x435;
const FSTP_M64 = 0x51d;
const FADDP = 0x6c1;
const FSUBP = 0x6e9;
const FMULP = 0x6c9;
const FMUL_ST0_ST0 = 0x0c8;
const FMUL_ST0_ST1 = 0x0c9;
const FADD_ST0_ST0 = 0x0c0;
const FADD_ST0_ST3 = 0x0c3;
const FLD_ST0 = 0x1c0;
const FLD_ST2 = 0x1c2;
const FXCH_ST1 = 0x1c9;
const FXCH_ST2 = 0x1ca;
const FSQRT = 0x1fa;
const FSIN = 0x1fe;
const FLDZ = 0x1ee;
const FLDCW = 0x12d;
const FNINIT = 0x3e3;

/** A loop body: instructions with their operand offsets into the data buffer, and its flops. */
interface Workload {
  readonly name: string;
  readonly cw: number;
  /** Instructions run once before the loop (stack setup). */
  readonly prologue: readonly (readonly [number, number])[];
  readonly body: readonly (readonly [number, number])[];
  readonly flopsPerBody: number;
  readonly bodies: number;
}

const ELEMENTS = 1024;
const A = 0;
const B = 8 * ELEMENTS;
const OUT = 16 * ELEMENTS;
const CONSTS = OUT + 16;

function dot(name: string, cw: number): Workload {
  const body: [number, number][] = [[FLDZ, 0]];
  for (let i = 0; i < ELEMENTS; i++) body.push([FLD_M64, A + 8 * i], [FMUL_M64, B + 8 * i], [FADDP, 0]);
  body.push([FSTP_M64, OUT]);
  return { name, cw, prologue: [], body, flopsPerBody: 2 * ELEMENTS, bodies: 400 };
}

const WORKLOADS: readonly Workload[] = [
  dot('dot', 0x037f),
  (() => {
    // ST0 = accumulator, ST1 = x (0.999...): acc = acc * x + c[i]
    const body: [number, number][] = [[FLDZ, 0]];
    for (let i = 0; i < ELEMENTS; i++) body.push([FMUL_ST0_ST1, 0], [FADD_M64, A + 8 * i]);
    body.push([FSTP_M64, OUT]);
    return { name: 'horner', cw: 0x037f, prologue: [[FLD_M64, CONSTS]], body, flopsPerBody: 2 * ELEMENTS, bodies: 400 };
  })(),
  (() => {
    // Stack: zr zi cr ci. zr' = zr^2 - zi^2 + cr, zi' = 2 zr zi + ci.
    const step: [number, number][] = [
      [FLD_ST0, 0],
      [FMUL_ST0_ST0, 0],
      [FLD_ST2, 0],
      [FMUL_ST0_ST0, 0],
      [FSUBP, 0],
      [FADD_ST0_ST3, 0],
      [FXCH_ST2, 0],
      [FMULP, 0],
      [FADD_ST0_ST0, 0],
      [FADD_ST0_ST3, 0],
      [FXCH_ST1, 0],
    ];
    const body: [number, number][] = [];
    for (let i = 0; i < 64; i++) body.push(...step);
    return {
      name: 'mandel',
      cw: 0x037f,
      // ci, cr, zi, zr
      prologue: [
        [FLD_M64, CONSTS + 8],
        [FLD_M64, CONSTS + 16],
        [FLDZ, 0],
        [FLDZ, 0],
      ],
      body,
      flopsPerBody: 7 * 64,
      bodies: 5000,
    };
  })(),
  dot('dot53', 0x027f),
  (() => {
    const body: [number, number][] = [[FLDZ, 0]];
    for (let i = 0; i < 256; i++) body.push([FLD_M64, A + 8 * i], [FDIV_M64, B + 8 * i], [FSQRT, 0], [FADDP, 0]);
    body.push([FSTP_M64, OUT]);
    return { name: 'divsqrt', cw: 0x037f, prologue: [], body, flopsPerBody: 3 * 256, bodies: 200 };
  })(),
  (() => {
    const body: [number, number][] = [[FLDZ, 0]];
    for (let i = 0; i < 64; i++) body.push([FLD_M64, A + 8 * i], [FSIN, 0], [FADDP, 0]);
    body.push([FSTP_M64, OUT]);
    return { name: 'trig', cw: 0x037f, prologue: [], body, flopsPerBody: 2 * 64, bodies: 40 };
  })(),
];

/** Random doubles in [0.5, 1.5), positive, so sums and square roots stay ordinary. */
function fillData(data: Uint8Array): void {
  const view = new DataView(data.buffer);
  let s = 0x12345678;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  for (let i = 0; i < 2 * ELEMENTS; i++) view.setFloat64(8 * i, 0.5 + next(), true);
  view.setFloat64(CONSTS, 0.9999, true); // Horner's x
  view.setFloat64(CONSTS + 8, 0.3, true); // ci (c inside the set: z stays bounded)
  view.setFloat64(CONSTS + 16, -0.2, true); // cr
}

interface Measurement {
  seconds: number;
  instructions: number;
  flops: number;
  fastShare: number;
}

function runOnce(m: FpuModule, w: Workload, data: Uint8Array, scale: number): Measurement {
  const CTL = m.CTL_PROTECTED | m.CTL_OPSIZE32 | m.CTL_NE;
  const arithStats = m.arithStats;
  const fpu = new m.Fpu();
  const fops = Int32Array.from(w.body, (s) => s[0]);
  const offs = Int32Array.from(w.body, (s) => s[1]);
  const cw = new Uint8Array([w.cw & 0xff, w.cw >>> 8]);
  fpu.execute(FNINIT, CTL, data, 0);
  fpu.execute(FLDCW, CTL, cw, 0);
  for (const [fop, off] of w.prologue) fpu.execute(fop, CTL, data, off);
  const bodies = w.bodies * scale;
  const fast0 = arithStats.fast;
  const slow0 = arithStats.slow;
  const before = process.cpuUsage();
  for (let b = 0; b < bodies; b++) {
    for (let i = 0; i < fops.length; i++) {
      const r = fpu.execute(fops[i], CTL, data, offs[i]);
      if (r !== DONE && r !== STORE) throw new Error(`${w.name}: FPU result ${r}`);
    }
  }
  const used = process.cpuUsage(before);
  const fast = arithStats.fast - fast0;
  const slow = arithStats.slow - slow0;
  return {
    seconds: (used.user + used.system) / 1e6,
    instructions: bodies * fops.length,
    flops: bodies * w.flopsPerBody,
    fastShare: fast + slow > 0 ? fast / (fast + slow) : 0,
  };
}

export const fpuBenchmark: Benchmark = {
  description: 'x87 FPU core: MFLOPS on FPU-heavy instruction streams, with the quick-path share',
  async run(args, print) {
    const { values } = parseArgs({
      args: args[0] === '--' ? args.slice(1) : args,
      options: { scale: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help === true) {
      print(USAGE);
      return;
    }
    const m = fpuModule();
    const scale = positiveInt('scale', values.scale, 1);
    const rounds = positiveInt('rounds', values.rounds, 3);
    const data = new Uint8Array(CONSTS + 64);
    fillData(data);
    print('workload  instructions    MFLOPS (median)   M instr/s   quick path');
    for (const w of WORKLOADS) {
      const runs: Measurement[] = [];
      for (let r = 0; r < rounds; r++) runs.push(runOnce(m, w, data, scale));
      const mflops = runs.map((m) => m.flops / m.seconds / 1e6).sort((a, b) => b - a);
      const best = runs.reduce((a, b) => (a.flops / a.seconds > b.flops / b.seconds ? a : b));
      const median = mflops[Math.floor(mflops.length / 2)];
      print(
        `${w.name.padEnd(8)}  ${String(best.instructions).padStart(12)}  ${mflops[0].toFixed(2).padStart(8)} (${median.toFixed(2)})` +
          `  ${(best.instructions / best.seconds / 1e6).toFixed(2).padStart(9)}   ${(100 * best.fastShare).toFixed(1).padStart(6)}%`,
      );
    }
  },
};
