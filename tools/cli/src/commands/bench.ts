import { benchmarks } from '@plex86/bench';
import { UsageError, type Command } from '../command.js';

function benchmarkList(): string {
  const names = Object.keys(benchmarks).sort();
  if (names.length === 0) return '  (none)';
  const width = Math.max(...names.map((n) => n.length));
  return names.map((n) => `  ${n.padEnd(width)}  ${benchmarks[n]?.description ?? ''}`).join('\n');
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'Run a benchmark and print its figures.',
  usage: 'plex86 bench NAME [ARGS...]',
  get details() {
    return `Benchmarks:\n${benchmarkList()}\n\nArguments after NAME go to the benchmark; \`plex86 bench NAME -- --help\` lists them.`;
  },
  options: {},
  passThrough: true,
  async run(_values, positionals, io) {
    const [name, ...args] = positionals;
    if (name === undefined) throw new UsageError('which benchmark? Give its NAME');
    const benchmark = benchmarks[name];
    if (!benchmark) throw new UsageError(`no benchmark named "${name}"`);
    await benchmark.run(args, (line) => io.out(`${line}\n`));
    return 0;
  },
};
