import { parseArgs } from 'node:util';
import { Machine } from '@plex86/monitor';
import type { Benchmark } from './index.js';
import { positiveInt } from './options.js';
import { EXIT_PORT, multibootImage } from './multiboot-image.js';

const USAGE = `plex86 bench fpu [--scale N] [--rounds N]

The x87 FPU in MFLOPS of CPU time used, with the share of additions, multiplications and
divisions that took the quick path (normal operands, 64-bit precision, round to nearest):

x87 programs run by the CPU engine (booted as Multiboot kernels, run to their exit):
  dot       FLD m64, FMUL m64, FADDP over 1024-element arrays
  mandel    z = z^2 + c on the register stack (FLD ST(i), FMUL, FSUBP, FADD, FXCH, FMULP)
  sqrtdiv   x = sqrt(x + 1.5) / 1.1 (FADD m64, FSQRT, FDIV m64)

Instruction streams fed straight to the FPU core (opcode and operand bytes, no CPU):
  core-dot      the dot product
  core-dot53    the dot product with 53-bit precision control (as Windows and FreeBSD set it)
  core-trig     FLD m64, FSIN, FADDP (the transcendental counted as one flop)

  --scale N    multiplies the work (default 1)
  --rounds N   runs per workload; the best is reported, the median in brackets (default 3)`;

/** The FPU a machine's CPU drives. */
type Fpu = Machine['cpu']['fpu'];

function hex(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i += 2) out.push(parseInt(text.slice(i, i + 2), 16));
  return out;
}

interface Program {
  readonly name: string;
  /** Machine code assembled for 1 MiB + 32 (nasm, bits 32); its loop count is the dword at offset 1. */
  readonly code: number[];
  readonly count: number;
  readonly flopsPerCount: number;
}

// The nasm source of each program is in the comment above it.
const PROGRAMS: readonly Program[] = [
  {
    // mov ebp, COUNT; fninit; xor ecx, ecx
    // .init: mov [tmp], ecx; fild dword [tmp]; fld1; faddp st1, st0; fst qword [0x200000 + ecx*8]
    //        fld1; fdivrp st1, st0; fstp qword [0x300000 + ecx*8]; inc ecx; cmp ecx, 1024; jb .init
    // .outer: fldz; xor ecx, ecx
    // .loop:  fld qword [0x200000 + ecx*8]; fmul qword [0x300000 + ecx*8]; faddp st1, st0
    //         inc ecx; cmp ecx, 1024; jb .loop
    //         fstp qword [0x400000]; dec ebp; jnz .outer
    // mov al, 0; out 0xf4, al; tmp: dd 0
    name: 'dot',
    code: hex(
      'bd00000000dbe331c9890d7e001000db057e001000d9e8dec1dd14cd00002000d9e8def1dd1ccd000030004181f90004000072d5d9ee31c9dd04cd00002000dc0ccd00003000dec14181f90004000072e7dd1d000040004d75dab000e6f400000000',
    ),
    count: 300,
    flopsPerCount: 2048,
  },
  {
    // mov ecx, COUNT; fninit; fld qword [ci]; fld qword [cr]; fldz; fldz   ; zr zi cr ci
    // .loop: fld st0; fmul st0, st0; fld st2; fmul st0, st0; fsubp st1, st0; fadd st0, st3
    //        fxch st2; fmulp st1, st0; fadd st0, st0; fadd st0, st3; fxch st1; dec ecx; jnz .loop
    // mov al, 0; out 0xf4, al; ci: dq 0.3; cr: dq -0.2
    name: 'mandel',
    code: hex(
      'b900000000dbe3dd0554001000dd055c001000d9eed9eed9c0dcc8d9c2dcc8dee9d8c3d9cadec9dcc0d8c3d9c94975e7b000e6f4333333333333d33f9a9999999999c9bf',
    ),
    count: 100_000,
    flopsPerCount: 7,
  },
  {
    // mov ecx, COUNT; fninit; fld1
    // .loop: fld st0; fadd qword [c15]; fsqrt; fdiv qword [c11]; fstp st1; dec ecx; jnz .loop
    // mov al, 0; out 0xf4, al; c15: dq 1.5; c11: dq 1.1
    name: 'sqrtdiv',
    code: hex('b900000000dbe3d9e8d9c0dc0542001000d9fadc354a001000ddd94975ebb000e6f4000000000000f83f9a9999999999f13f'),
    count: 100_000,
    flopsPerCount: 3,
  },
];

interface Measurement {
  seconds: number;
  flops: number;
  /** Instructions the CPU ran (programs) or the FPU executed (streams). */
  instructions: number;
  quickShare: number;
}

function quickShare(fpu: Fpu, fast0: number, slow0: number): number {
  const fast = fpu.quickPath.fast - fast0;
  const slow = fpu.quickPath.slow - slow0;
  return fast + slow > 0 ? fast / (fast + slow) : 0;
}

async function runProgram(program: Program, scale: number): Promise<Measurement> {
  const code = program.code.slice();
  const count = program.count * scale;
  code[1] = count & 0xff;
  code[2] = (count >>> 8) & 0xff;
  code[3] = (count >>> 16) & 0xff;
  code[4] = (count >>> 24) & 0xff;
  const machine = new Machine({ memory: 32 << 20 });
  machine.setExitPort(EXIT_PORT);
  machine.loadKernel(multibootImage(code));
  const fpu = machine.cpu.fpu;
  const fast0 = fpu.quickPath.fast;
  const slow0 = fpu.quickPath.slow;
  const before = process.cpuUsage();
  const result = await machine.run(Infinity, 50_000_000);
  const used = process.cpuUsage(before);
  if (result.end !== 'exit-port' || result.status !== 1) {
    throw new Error(`the ${program.name} program did not finish (${result.end}: ${result.message})`);
  }
  return {
    seconds: (used.user + used.system) / 1e6,
    flops: count * program.flopsPerCount,
    instructions: result.instructions,
    quickShare: quickShare(fpu, fast0, slow0),
  };
}

// Streams for the core: FOPs ((escape & 7) << 8 | ModRM) with operand offsets into a data buffer.
const FLD_M64 = 0x505;
const FMUL_M64 = 0x40d;
const FSTP_M64 = 0x51d;
const FADDP = 0x6c1;
const FSIN = 0x1fe;
const FLDZ = 0x1ee;
const FLDCW = 0x12d;
const FNINIT = 0x3e3;
const ELEMENTS = 1024;
const B = 8 * ELEMENTS;
const OUT = 16 * ELEMENTS;

interface Stream {
  readonly name: string;
  readonly cw: number;
  readonly body: readonly (readonly [number, number])[];
  readonly flopsPerBody: number;
  readonly bodies: number;
}

function dotStream(name: string, cw: number): Stream {
  const body: [number, number][] = [[FLDZ, 0]];
  for (let i = 0; i < ELEMENTS; i++) body.push([FLD_M64, 8 * i], [FMUL_M64, B + 8 * i], [FADDP, 0]);
  body.push([FSTP_M64, OUT]);
  return { name, cw, body, flopsPerBody: 2 * ELEMENTS, bodies: 300 };
}

const STREAMS: readonly Stream[] = [
  dotStream('core-dot', 0x037f),
  dotStream('core-dot53', 0x027f),
  (() => {
    const body: [number, number][] = [[FLDZ, 0]];
    for (let i = 0; i < 64; i++) body.push([FLD_M64, 8 * i], [FSIN, 0], [FADDP, 0]);
    body.push([FSTP_M64, OUT]);
    return { name: 'core-trig', cw: 0x037f, body, flopsPerBody: 2 * 64, bodies: 30 };
  })(),
];

function runStream(fpu: Fpu, s: Stream, data: Uint8Array, scale: number): Measurement {
  // Protected-mode context bits only matter for environment layouts and pending exceptions,
  // neither of which these streams meet.
  const ctl = 0;
  const fops = Int32Array.from(s.body, (step) => step[0]);
  const offs = Int32Array.from(s.body, (step) => step[1]);
  fpu.execute(FNINIT, ctl, data, 0);
  fpu.execute(FLDCW, ctl, new Uint8Array([s.cw & 0xff, s.cw >>> 8]), 0);
  const bodies = s.bodies * scale;
  const fast0 = fpu.quickPath.fast;
  const slow0 = fpu.quickPath.slow;
  const before = process.cpuUsage();
  for (let b = 0; b < bodies; b++) {
    for (let i = 0; i < fops.length; i++) {
      const r = fpu.execute(fops[i], ctl, data, offs[i]);
      if (r > 1) throw new Error(`${s.name}: FPU result ${r}`);
    }
  }
  const used = process.cpuUsage(before);
  return {
    seconds: (used.user + used.system) / 1e6,
    flops: bodies * s.flopsPerBody,
    instructions: bodies * fops.length,
    quickShare: quickShare(fpu, fast0, slow0),
  };
}

/** Doubles in [0.5, 1.5) from a fixed xorshift sequence. */
function streamData(): Uint8Array {
  const data = new Uint8Array(OUT + 16);
  const view = new DataView(data.buffer);
  let x = 0x12345678;
  for (let i = 0; i < 2 * ELEMENTS; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    view.setFloat64(8 * i, 0.5 + (x >>> 0) / 4294967296, true);
  }
  return data;
}

function report(name: string, runs: Measurement[], print: (line: string) => void): void {
  const mflops = runs.map((m) => m.flops / m.seconds / 1e6).sort((a, b) => b - a);
  const best = runs.reduce((a, b) => (a.flops / a.seconds >= b.flops / b.seconds ? a : b));
  const median = mflops[Math.floor(mflops.length / 2)];
  print(
    `${name.padEnd(11)} ${String(best.instructions).padStart(12)}  ${mflops[0].toFixed(2).padStart(8)} (${median.toFixed(2)})` +
      `  ${(best.instructions / best.seconds / 1e6).toFixed(2).padStart(9)}   ${(100 * best.quickShare).toFixed(1).padStart(6)}%`,
  );
}

export const fpuBenchmark: Benchmark = {
  description: 'x87 FPU: MFLOPS of x87 programs and of instruction streams, with the quick-path share',
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
    const scale = positiveInt('scale', values.scale, 1);
    const rounds = positiveInt('rounds', values.rounds, 3);
    print('workload    instructions    MFLOPS (median)     MIPS    quick path');
    for (const program of PROGRAMS) {
      const runs: Measurement[] = [];
      for (let r = 0; r < rounds; r++) runs.push(await runProgram(program, scale));
      report(program.name, runs, print);
    }
    const fpu = new Machine({ memory: 1 << 20 }).cpu.fpu;
    const data = streamData();
    for (const s of STREAMS) {
      const runs: Measurement[] = [];
      for (let r = 0; r < rounds; r++) runs.push(runStream(fpu, s, data, scale));
      report(s.name, runs, print);
    }
  },
};
