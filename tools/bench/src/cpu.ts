import { parseArgs } from 'node:util';
import { Machine } from '@plex86/monitor';
import type { Benchmark } from './index.js';
import { positiveInt } from './options.js';
import { EXIT_PORT, multibootImage } from './multiboot-image.js';

const USAGE = `plex86 bench cpu [--scale N] [--rounds N]

The CPU engine on CPU-bound 32-bit programs, each booted as a Multiboot kernel and run to its exit
(rates per second of CPU time used by the process, so a busy machine skews them less):
  int     an integer loop (MOV, shifts, ADD, XOR, AND, LEA, CMP, Jcc, INC, DEC): MIPS
  copy    a dword copy loop through registers over 64 KiB buffers: MIPS and MB/s
  call    a loop that calls a short function on another code page: MIPS (what passing control
          between the code of two pages costs)
  string  REP MOVSD, REP STOSD, REPNE SCASB, REPE CMPSB over 64 KiB buffers: MB/s of string data

  --scale N    multiplies the work (default 1: about a second per program on a quiet machine)
  --rounds N   runs per program; the best is reported, the median in brackets (default 3)`;

interface Program {
  readonly name: string;
  /** Machine code, position independent; its loop count is the dword at `countAt`. */
  readonly code: number[];
  readonly countAt: number;
  readonly count: number;
  /** Bytes of data the program moves or scans per loop iteration (0 when MIPS is the figure). */
  readonly bytesPerIteration: number;
}

function hex(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i += 2) out.push(parseInt(text.slice(i, i + 2), 16));
  return out;
}

// Each program was assembled with nasm (bits 32); the source is in the comment above it.
const PROGRAMS: readonly Program[] = [
  {
    // mov ecx, COUNT; mov eax, 0x12345678; mov ebx, 1; xor esi, esi; xor edi, edi
    // .loop: mov edx, eax; shr edx, 3; add eax, ebx; xor ebx, edx; and edx, 0xff
    //        lea esi, [esi + edx*4 + 1]; cmp esi, ebx; jb .skip; inc edi
    // .skip: dec ecx; jnz .loop
    // mov al, 0; out 0xf4, al
    name: 'int',
    code: hex('b900000000b878563412bb0100000031f631ff89c2c1ea0301d831d381e2ff0000008d74960139de7201474975e5b000e6f4'),
    countAt: 1,
    count: 4_000_000,
    bytesPerIteration: 0,
  },
  {
    // mov ebp, COUNT
    // .outer: mov esi, 0x200000; mov edi, 0x300000; mov ecx, 16384
    // .loop:  mov eax, [esi]; mov [edi], eax; add esi, 4; add edi, 4; dec ecx; jnz .loop
    //         dec ebp; jnz .outer
    // mov al, 0; out 0xf4, al
    name: 'copy',
    code: hex('bd00000000be00002000bf00003000b9004000008b06890783c60483c7044975f34d75e1b000e6f4'),
    countAt: 1,
    count: 200,
    bytesPerIteration: 65536,
  },
  {
    // mov ebp, COUNT; mov eax, 0x12345678; mov ebx, 1
    // .loop: call far; dec ebp; jnz .loop
    // mov al, 0; out 0xf4, al
    // times 0x1800 - ($ - $$) nop
    // far: add eax, ebx; xor ebx, eax; ret
    name: 'call',
    code: [
      ...hex('bd00000000b878563412bb01000000e8ec1700004d75f8b000e6f4'),
      ...new Array<number>(0x1800 - 27).fill(0x90),
      ...hex('01d831c3c3'),
    ],
    countAt: 1,
    count: 2_000_000,
    bytesPerIteration: 0,
  },
  {
    // mov ebp, COUNT; cld
    // .outer: mov esi, 0x200000; mov edi, 0x300000; mov ecx, 16384; rep movsd
    //         mov edi, 0x400000; mov eax, ebp; mov ecx, 16384; rep stosd
    //         mov edi, 0x300000; mov al, 0x5a; mov ecx, 65536; repne scasb
    //         mov esi, 0x200000; mov edi, 0x300000; mov ecx, 65536; repe cmpsb
    //         dec ebp; jnz .outer
    // mov al, 0; out 0xf4, al
    name: 'string',
    code: hex(
      'bd00000000fcbe00002000bf00003000b900400000f3a5bf0000400089e8b900400000f3abbf00003000b05ab900000100f2aebe00002000bf00003000b900000100f3a64d75bfb000e6f4',
    ),
    countAt: 1,
    count: 100,
    bytesPerIteration: 4 * 65536,
  },
];

interface Measurement {
  seconds: number;
  instructions: number;
}

async function runOnce(program: Program, scale: number): Promise<Measurement> {
  const code = program.code.slice();
  const count = program.count * scale;
  code[program.countAt] = count & 0xff;
  code[program.countAt + 1] = (count >>> 8) & 0xff;
  code[program.countAt + 2] = (count >>> 16) & 0xff;
  code[program.countAt + 3] = (count >>> 24) & 0xff;
  const machine = new Machine({ memory: 32 << 20 });
  machine.setExitPort(EXIT_PORT);
  machine.loadKernel(multibootImage(code));
  const before = process.cpuUsage();
  const result = await machine.run(Infinity, 50_000_000);
  const used = process.cpuUsage(before);
  if (result.end !== 'exit-port' || result.status !== 1) {
    throw new Error(`the ${program.name} program did not finish (${result.end}: ${result.message})`);
  }
  // CPU time, not wall time: the figure stays meaningful on a loaded machine.
  return { seconds: (used.user + used.system) / 1e6, instructions: result.instructions };
}

export const cpuBenchmark: Benchmark = {
  description: 'CPU engine: MIPS on an integer loop and a copy loop, MB/s on REP string instructions',
  async run(args, print) {
    const { values } = parseArgs({
      args,
      options: { scale: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
    });
    if (values.help === true) {
      print(USAGE);
      return;
    }
    const scale = positiveInt('scale', values.scale, 1);
    const rounds = positiveInt('rounds', values.rounds, 3);
    print(`program   instructions      MIPS (median)      MB/s (median)`);
    for (const program of PROGRAMS) {
      const runs: Measurement[] = [];
      for (let r = 0; r < rounds; r++) runs.push(await runOnce(program, scale));
      const mips = runs.map((m) => m.instructions / m.seconds / 1e6).sort((a, b) => b - a);
      const bytes = program.bytesPerIteration * program.count * scale;
      const mbs = runs.map((m) => bytes / m.seconds / 1e6).sort((a, b) => b - a);
      const median = (xs: number[]): number => xs[Math.floor(xs.length / 2)] ?? 0;
      const mbText = bytes > 0 ? `${mbs[0].toFixed(1).padStart(8)} (${median(mbs).toFixed(1)})` : '       -';
      print(
        `${program.name.padEnd(8)}  ${String(runs[0].instructions).padStart(12)}  ${mips[0].toFixed(2).padStart(8)} (${median(mips).toFixed(2)})  ${mbText}`,
      );
    }
  },
};
