import { readFile } from 'node:fs/promises';
import { type Block, CodeMode, Decoder, DecodeStatus, Instruction, PAGE_SIZE, ScannedPageCache } from '@plex86/x86';
import type { Benchmark } from './index.js';
import { HELP_OPTION, parseBenchArgs, positiveInt } from './options.js';
import { xorshift32 } from '@plex86/x86/testing';

const USAGE = `plex86 bench sbe [--size KIB] [--seed N] [--file FILE] [--bits 16|32] [--rounds N]

Scan-Before-Execute core: scan throughput (every block of a code corpus looked up once, all misses),
next to the decoder alone on the same bytes; the cost of a cache hit (ns per lookup, over all blocks and
on one block); the write hook on a page without code; a write into a block followed by its rescan.

  --size KIB   size of the synthetic corpus (default 1024): seeded i386 compiler-style code
  --seed N     seed of the synthetic corpus (default 1)
  --file FILE  scan the raw bytes of FILE instead (e.g. a .text section extracted with objcopy)
  --bits B     code size, 16 or 32 (default 32)
  --rounds N   measured rounds per figure; the best is reported, the median in brackets (default 5)`;

interface Settings {
  readonly sizeKiB: number;
  readonly seed: number;
  readonly file: string | undefined;
  readonly mode: CodeMode;
  readonly rounds: number;
}

function parse(args: string[]): Settings | null {
  const values = parseBenchArgs(args, {
    ...HELP_OPTION,
    size: { type: 'string' },
    seed: { type: 'string' },
    file: { type: 'string' },
    bits: { type: 'string' },
    rounds: { type: 'string' },
  });
  if (values.help) return null;
  const bits = values.bits ?? '32';
  if (bits !== '16' && bits !== '32') throw new Error(`--bits must be 16 or 32, not ${JSON.stringify(bits)}`);
  return {
    sizeKiB: positiveInt('size', values.size, 1024),
    seed: positiveInt('seed', values.seed, 1),
    file: values.file,
    mode: bits === '16' ? CodeMode.Bits16 : CodeMode.Bits32,
    rounds: positiveInt('rounds', values.rounds, 5),
  };
}

/** Seeded numbers below n, so the corpus is the same on every run. */
function rng(seed: number): (n: number) => number {
  const next = xorshift32(seed);
  return (n) => next() % n;
}

type Emit = (next: (n: number) => number, out: number[]) => void;

const imm32 = (next: (n: number) => number, out: number[]) => {
  for (let i = 0; i < 4; i++) out.push(next(256));
};
/** A register other than ESP (which would need a SIB byte as a base). */
const reg = (next: (n: number) => number) => [0, 1, 2, 3, 5, 6, 7][next(7)] as number;

/**
 * Instruction shapes of typical 32-bit compiler output, with weights: mostly moves through EBP/ESP
 * frames, ALU, push/pop; about one control transfer in seven instructions, and a rare sensitive one.
 */
const SHAPES32: readonly (readonly [number, Emit])[] = [
  [10, (r, o) => o.push(0x89, 0xc0 | (r(8) << 3) | r(8))],
  [12, (r, o) => o.push(0x8b, 0x45 | (r(8) << 3), r(256))],
  [8, (r, o) => o.push(0x89, 0x45 | (r(8) << 3), r(256))],
  [6, (r, o) => o.push(0x8b, 0x44 | (r(8) << 3), 0x24, r(256))],
  [6, (r, o) => o.push(0x50 + r(8))],
  [5, (r, o) => o.push(0x58 + r(8))],
  [8, (r, o) => o.push([0x01, 0x29, 0x31, 0x39, 0x85, 0x21, 0x09][r(7)] as number, 0xc0 | (r(8) << 3) | r(8))],
  [6, (r, o) => o.push(0x83, 0xc0 | (r(8) << 3) | r(8), r(256))],
  [4, (r, o) => o.push(0x8d, 0x40 | (r(8) << 3) | reg(r), r(256))],
  [4, (r, o) => (o.push(0xb8 + r(8)), imm32(r, o))],
  [3, (r, o) => (o.push(0xc7, 0x45, r(256)), imm32(r, o))],
  [3, (r, o) => o.push(0x0f, 0xb6, 0x40 | (r(8) << 3) | reg(r), r(256))],
  [2, (r, o) => o.push(0x80, 0x7d, r(256), r(256))],
  [2, (r, o) => o.push(0x40 + r(16))],
  [2, (r, o) => o.push(0xc1, 0xe0 | r(8), 1 + r(31))],
  [8, (r, o) => o.push(0x70 + r(16), r(256))],
  [2, (r, o) => (o.push(0x0f, 0x80 + r(16)), imm32(r, o))],
  [3, (r, o) => (o.push(0xe8), imm32(r, o))],
  [2, (r, o) => o.push(0xeb, r(256))],
  [2, (r, o) => o.push(0xc3)],
  [1, (r, o) => o.push(0xff, 0x50 | reg(r), r(256))],
  [0.3, (r, o) => o.push([0x9c, 0x9d, 0xfa, 0xfb][r(4)] as number)],
];

/** Synthetic code: whole instructions back to back, filling `size` bytes (the tail is NOP padding). */
function syntheticCode(size: number, seed: number): Uint8Array {
  const next = rng(seed);
  const total = SHAPES32.reduce((sum, [w]) => sum + w * 10, 0);
  const out: number[] = [];
  const bytes = new Uint8Array(size);
  let pos = 0;
  while (pos < size) {
    let pick = next(total);
    let shape = SHAPES32[0] as (typeof SHAPES32)[number];
    for (const s of SHAPES32) {
      pick -= s[0] * 10;
      if (pick < 0) {
        shape = s;
        break;
      }
    }
    out.length = 0;
    shape[1](next, out);
    if (pos + out.length > size) break;
    bytes.set(out, pos);
    pos += out.length;
  }
  bytes.fill(0x90, pos);
  return bytes;
}

/** The corpus in guest memory, followed by one page without code for the write-hook figure. */
async function corpus(settings: Settings): Promise<{ memory: Uint8Array; codeBytes: number; label: string }> {
  let code: Uint8Array;
  let label: string;
  if (settings.file !== undefined) {
    code = new Uint8Array(await readFile(settings.file));
    if (code.length === 0) throw new Error(`${settings.file} is empty`);
    label = `${settings.file} (${code.length} bytes)`;
  } else {
    code = syntheticCode(settings.sizeKiB * 1024, settings.seed);
    label = `synthetic i386 code, ${settings.sizeKiB} KiB, seed ${settings.seed}`;
  }
  const pages = Math.ceil(code.length / PAGE_SIZE) + 1;
  const memory = new Uint8Array(pages * PAGE_SIZE);
  memory.set(code);
  return { memory, codeBytes: code.length, label };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function now(): number {
  return performance.now();
}

/** Best and median of `rounds` runs of `fn`, which returns a figure where higher is better. */
function rounds(n: number, fn: () => number): { best: number; median: number } {
  fn(); // warm-up: lets V8 optimise before measuring
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(fn());
  return { best: Math.max(...xs), median: median(xs) };
}

const fmtRate = (bytesPerSecond: number) => `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
const fmtNs = (ns: number) => (ns < 10 ? ns.toFixed(2) : ns.toFixed(1)) + ' ns';

/** Uses a result, so the measured loop cannot be optimised away, and checks that it made sense. */
function consume(total: number, what: string): void {
  if (!(total > 0)) throw new Error(`${what} returned no instructions`);
}

export const sbeBenchmark: Benchmark = {
  description: 'SBE scan throughput (bytes/s) and cache-hit cost (ns), with the write hook and an SMC rescan',
  async run(args, print) {
    const settings = parse(args);
    if (settings === null) {
      print(USAGE);
      return;
    }
    const { memory, codeBytes, label } = await corpus(settings);
    const mode = settings.mode;
    const bitness = mode === CodeMode.Bits16 ? 16 : 32;
    const decoder = new Decoder();
    const pages = memory.length / PAGE_SIZE;
    const cache = new ScannedPageCache({
      memory,
      decoder,
      maxPages: 2 * pages + 2,
      maxInstructions: Math.max(codeBytes, 1024),
      maxBlockInstructions: 64,
    });
    const ipOf = (addr: number) => (bitness === 16 ? addr & 0xffff : addr);

    // Every block of the corpus, in address order: each lookup misses and scans.
    const starts: number[] = [];
    let instructions = 0;
    const scanAll = (): number => {
      cache.flush();
      starts.length = 0;
      instructions = 0;
      let scanned = 0;
      const t0 = now();
      for (let addr = 0; addr < codeBytes;) {
        const b = cache.lookup(addr, mode, ipOf(addr));
        if (b === null) break;
        starts.push(addr);
        instructions += b.count;
        scanned += b.byteLength;
        addr += b.byteLength > 0 ? b.byteLength : 1;
      }
      const seconds = (now() - t0) / 1000;
      return scanned / seconds;
    };

    const rec = new Instruction();
    const decodeAll = (): number => {
      const t0 = now();
      let n = 0;
      for (let pos = 0; pos < codeBytes;) {
        const pageEnd = (Math.floor(pos / PAGE_SIZE) + 1) * PAGE_SIZE;
        const status = decoder.decode(memory, pos, Math.min(pageEnd + 15, memory.length), ipOf(pos), bitness, rec);
        n++;
        pos += status === DecodeStatus.NeedMoreBytes || rec.length === 0 ? 1 : rec.length;
      }
      consume(n, 'decoding');
      return codeBytes / ((now() - t0) / 1000);
    };

    const decodeRate = rounds(settings.rounds, decodeAll);
    const scanRate = rounds(settings.rounds, scanAll);
    scanAll(); // leaves the cache full for the hit figures
    const blocks = starts.length;
    const startArray = Int32Array.from(starts);

    const hitAll = (): number => {
      const reps = Math.max(1, Math.ceil(2_000_000 / blocks));
      const t0 = now();
      let s = 0;
      for (let r = 0; r < reps; r++) {
        for (let i = 0; i < startArray.length; i++) {
          const addr = startArray[i] as number;
          s += (cache.lookup(addr, mode, addr) as Block).count;
        }
      }
      const ns = ((now() - t0) * 1e6) / (reps * blocks);
      consume(s, 'cache hits');
      return 1 / ns; // lookups per ns, higher is better
    };
    const hitOne = (): number => {
      const n = 5_000_000;
      const addr = startArray[blocks >> 1] as number;
      const t0 = now();
      let s = 0;
      for (let i = 0; i < n; i++) s += (cache.lookup(addr, mode, addr) as Block).count;
      const ns = ((now() - t0) * 1e6) / n;
      consume(s, 'cache hits');
      return 1 / ns;
    };
    const quietWrites = (): number => {
      const n = 5_000_000;
      const base = memory.length - PAGE_SIZE;
      const t0 = now();
      for (let i = 0; i < n; i++) cache.notifyWrite(base + ((i * 4) & 0xffc), 4);
      return 1 / (((now() - t0) * 1e6) / n);
    };
    const smcRescan = (): number => {
      const n = Math.min(20_000, blocks);
      const t0 = now();
      let s = 0;
      for (let i = 0; i < n; i++) {
        const addr = startArray[(i * 7919) % blocks] as number;
        cache.notifyWrite(addr, 1); // the bytes stay the same: only the cost is measured
        s += (cache.lookup(addr, mode, addr) as Block).count;
      }
      const ns = ((now() - t0) * 1e6) / n;
      consume(s, 'rescans');
      return 1 / ns;
    };

    const hitsAll = rounds(settings.rounds, hitAll);
    const hitsOne = rounds(settings.rounds, hitOne);
    const writes = rounds(settings.rounds, quietWrites);
    const rescans = rounds(settings.rounds, smcRescan);
    const s = cache.stats;

    print(`sbe: ${label}, ${bitness}-bit; best of ${settings.rounds} rounds, median in brackets`);
    print(
      `corpus: ${instructions} instructions in ${blocks} blocks ` +
        `(${(instructions / blocks).toFixed(1)} instructions, ${(codeBytes / blocks).toFixed(1)} bytes per block)`,
    );
    const rows: [string, string, string][] = [
      ['decoder alone (linear)', fmtRate(decodeRate.best), fmtRate(decodeRate.median)],
      ['scan: lookup misses', fmtRate(scanRate.best), fmtRate(scanRate.median)],
      [`cache hit, ${blocks} blocks`, fmtNs(1 / hitsAll.best), fmtNs(1 / hitsAll.median)],
      ['cache hit, one block', fmtNs(1 / hitsOne.best), fmtNs(1 / hitsOne.median)],
      ['write hook, page without code', fmtNs(1 / writes.best), fmtNs(1 / writes.median)],
      ['write into a block + rescan', fmtNs(1 / rescans.best), fmtNs(1 / rescans.median)],
    ];
    for (const [name, best, med] of rows) print(`  ${name.padEnd(32)} ${best.padStart(12)}  [${med}]`);
    print(
      `  scan rate in instructions: ${((scanRate.best * instructions) / codeBytes / 1e6).toFixed(2)} M/s; ` +
        `stats: ${s.misses} misses, ${s.hits} hits, ${s.invalidations} invalidations, ${s.evictions} evictions`,
    );
  },
};
