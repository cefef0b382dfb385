import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fetchDebianPackage } from '@plex86/testing';
import { type Bitness, Decoder, DecodeStatus, Instruction } from '@plex86/x86';
import { elfSection } from '@plex86/x86/testing';
import type { Benchmark } from './index.js';

const USAGE = `plex86 bench decoder [--file FILE] [--bits 16|32] [--rounds N] [--warmup MS] [--no-iced]

Instruction decoder throughput: a linear sweep over real i386 code, decoded by plex86's decoder and by
iced-x86 (the reference decoder) in the same run. Figures are decoded instructions per second, from
wall-clock time and from the process's CPU time (which a loaded machine disturbs less).

  --file FILE  raw code to decode instead of the .text of Debian's busybox-static:i386 (fetched with apt
               into the user cache on first use)
  --bits B     code size, 16 or 32 (default 32)
  --rounds N   measured rounds per decoder; best and median are reported (default 7)
  --warmup MS  unmeasured sweeps per decoder first, for at least this long (default 1000), so that the JIT
               has compiled the code before it is timed
  --no-iced    skip the iced-x86 comparison`;

/** iced-x86 is loaded only for the comparison, so other commands do not pay for its WebAssembly. */
type IcedModule = typeof import('iced-x86');

interface Round {
  readonly instructions: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

function measure(body: () => number): Round {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const instructions = body();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { instructions, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

function rate(instructions: number, ms: number): number {
  return instructions / ms / 1000;
}

function summary(rounds: Round[], key: 'wallMs' | 'cpuMs'): { best: number; median: number } {
  const rates = rounds.map((r) => rate(r.instructions, r[key])).sort((a, b) => b - a);
  return { best: rates[0] ?? 0, median: rates[Math.floor(rates.length / 2)] ?? 0 };
}

/**
 * Linear sweep with plex86's decoder; an undecodable byte is skipped like a disassembler does. The decoder and
 * the record are the caller's, so that every sweep runs the same code (objects created in here were a call
 * site that TurboFan compiled without feedback in the first sweep and left at the start of the second).
 */
function sweepPlex86(decoder: Decoder, ins: Instruction, bytes: Uint8Array, address: number, bitness: Bitness): number {
  const end = bytes.length;
  let count = 0;
  for (let pos = 0; pos < end; count++) {
    const status = decoder.decode(bytes, pos, end, address + pos, bitness, ins);
    pos += status === DecodeStatus.Ok ? ins.length : 1;
  }
  return count;
}

function sweepIced(iced: IcedModule, bytes: Uint8Array, address: number, bitness: Bitness): number {
  const decoder = new iced.Decoder(bitness, bytes, iced.DecoderOptions.None);
  const ins = new iced.Instruction();
  let count = 0;
  try {
    decoder.ip = BigInt(address);
    while (decoder.canDecode) {
      decoder.decodeOut(ins);
      count++;
    }
  } finally {
    ins.free();
    decoder.free();
  }
  return count;
}

async function loadCode(file: string | undefined): Promise<{ bytes: Uint8Array; address: number; name: string }> {
  if (file) return { bytes: new Uint8Array(await readFile(file)), address: 0, name: file };
  const root = await fetchDebianPackage('busybox-static', 'i386');
  const text = elfSection(new Uint8Array(await readFile(join(root, 'bin', 'busybox'))), '.text');
  return { bytes: text.bytes, address: text.address, name: 'busybox-static:i386 .text' };
}

export const decoderBenchmark: Benchmark = {
  description: 'instruction decoder throughput on real i386 code, next to iced-x86',
  async run(args, print) {
    const { values } = parseArgs({
      args: args[0] === '--' ? args.slice(1) : args,
      options: {
        file: { type: 'string' },
        bits: { type: 'string' },
        rounds: { type: 'string' },
        warmup: { type: 'string' },
        'no-iced': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      print(USAGE);
      return;
    }
    const bitsText = values.bits ?? '32';
    if (bitsText !== '16' && bitsText !== '32')
      throw new Error(`--bits must be 16 or 32, not ${JSON.stringify(bitsText)}`);
    const bitness: Bitness = bitsText === '16' ? 16 : 32;
    const rounds = Number(values.rounds ?? '7');
    if (!Number.isInteger(rounds) || rounds <= 0)
      throw new Error(`--rounds wants a positive integer, not ${values.rounds}`);
    const warmupMs = Number(values.warmup ?? '1000');
    if (!Number.isInteger(warmupMs) || warmupMs < 0)
      throw new Error(`--warmup wants a number of milliseconds, not ${values.warmup}`);

    const code = await loadCode(values.file);
    print(
      `decoder: ${code.name}, ${code.bytes.length} bytes, ${bitness}-bit, ${rounds} rounds after ${warmupMs} ms of warm-up`,
    );

    const run = (body: () => number): Round[] => {
      // V8 compiles hot functions on a background thread, after they have run for a while, and may
      // recompile them; one unmeasured sweep left some runs timing code that was still in the interpreter.
      const start = performance.now();
      for (let sweeps = 0; sweeps < 3 || performance.now() - start < warmupMs; sweeps++) body();
      const results: Round[] = [];
      for (let i = 0; i < rounds; i++) results.push(measure(body));
      return results;
    };
    const report = (label: string, results: Round[]): number => {
      const wall = summary(results, 'wallMs');
      const cpu = summary(results, 'cpuMs');
      print(
        `  ${label.padEnd(8)} ${String(results[0]?.instructions ?? 0).padStart(8)} instructions: ` +
          `${wall.best.toFixed(1)} M/s wall (median ${wall.median.toFixed(1)}), ` +
          `${cpu.best.toFixed(1)} M/s CPU (median ${cpu.median.toFixed(1)})`,
      );
      return cpu.best;
    };

    const decoder = new Decoder();
    const ins = new Instruction();
    const ours = report(
      'plex86',
      run(() => sweepPlex86(decoder, ins, code.bytes, code.address, bitness)),
    );
    if (values['no-iced']) return;
    const iced: IcedModule = await import('iced-x86');
    const theirs = report(
      'iced-x86',
      run(() => sweepIced(iced, code.bytes, code.address, bitness)),
    );
    print(`  plex86 / iced-x86 (best CPU-time rates): ${(ours / theirs).toFixed(1)}x`);
  },
};
