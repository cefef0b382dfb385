import { bootBenchmark } from './boot.js';
import { busBenchmark } from './bus.js';
import { cpuBenchmark } from './cpu.js';
import { decoderBenchmark } from './decoder.js';
import { fpuBenchmark } from './fpu.js';
import { sbeBenchmark } from './sbe.js';
import { storageBenchmark } from './storage.js';

/** A benchmark run by `plex86 bench NAME`; it prints its own figures. */
export interface Benchmark {
  readonly description: string;
  run(args: string[], print: (line: string) => void): Promise<void>;
}

/** Every benchmark, by name. */
export const benchmarks: Record<string, Benchmark> = {
  boot: bootBenchmark,
  bus: busBenchmark,
  cpu: cpuBenchmark,
  decoder: decoderBenchmark,
  fpu: fpuBenchmark,
  sbe: sbeBenchmark,
  storage: storageBenchmark,
};
