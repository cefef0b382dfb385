import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildGuest,
  DEFAULT_WORKLOAD,
  GUEST_PROMPT,
  qemuBootArgs,
  referenceResults,
  runWorkload,
  startConsoleProcess,
  WORKLOAD_END,
  WORKLOAD_KEYS,
  WORKLOAD_STEPS,
  type ConsoleProcess,
  type Guest,
  type WorkloadKey,
  type WorkloadResults,
  type WorkloadSize,
} from '@plex86/guest';
import { lastStatsFigures, STATS_SIGNAL, type StatsFigures } from '@plex86/monitor';
import { compareReport, type ComparedRound } from './boot-compare.js';
import { qemuCountPlugin, readQemuCount } from './boot-qemu-count.js';
import type { V86Count, V86Request } from './boot-v86.js';
import type { Benchmark } from './index.js';
import { HELP_OPTION, parseBenchArgs, positiveInt } from './options.js';

const ENGINES = ['plex86', 'qemu', 'v86'] as const;
type EngineName = (typeof ENGINES)[number];

const HERE = dirname(fileURLToPath(import.meta.url));
export const PLEX86_CLI = join(HERE, '..', '..', 'cli', 'bin', 'plex86.mjs');
const SEABIOS_DIR = '/usr/share/seabios';
const QEMU = 'qemu-system-i386';

const USAGE = `plex86 bench boot [--engines LIST] [--timeout SECONDS] [--baseline ENGINE] [--scale F]
                    [--memory MIB] [--qemu-cpu MODEL] [--qemu-count on|off] [--seabios DIR] [--passes N]
       plex86 bench boot --against CLI [--rounds N] [--scale F] [--plex86-cli CLI] ...

Boots the default guest (Debian's 686 kernel and the busybox initramfs of tools/guest) under each
engine, one after the other, with the same kernel command line, and measures:
  boot s       from starting the engine to the shell prompt on the serial console
  workload s   the guest workload (checksums of generated data, shell arithmetic, forks), from its
               begin marker to its end marker on the console; its results are checked against
               values computed on the host
  MIPS         guest instructions per second during the workload, and over the whole run (from
               start to power-off), where the engine counts instructions
  steps        seconds of each step of the workload, and where the engine counts instructions,
               millions of them and MIPS, from counts read as each step's result line shows;
               for plex86 also where its engine ran each step: the share of instructions run in
               page functions, hand-offs between them, and blocks interpreted one after another
Ratios say how much faster plex86 (or the --baseline engine) is than each engine: above 1, faster.

Engines: plex86  node tools/cli/bin/plex86.mjs run --kernel --initrd --append --memory --stats
         qemu    ${QEMU} -accel tcg -cpu pentium2 (a family-6 CPU), instructions counted by a
                 TCG plugin
         v86     the v86 npm package in Node, with Debian's SeaBIOS bios.bin and vgabios-stdvga.bin

  --engines LIST    comma-separated engines to run (default plex86,qemu,v86)
  --timeout S       seconds allowed for the boot and, separately, for the workload (default 300)
  --baseline E      the engine ratios are taken against (default plex86)
  --scale F         multiplies the workload's size (default 1: 10 to 20 s under QEMU TCG)
  --memory MIB      guest RAM (default 256)
  --qemu-cpu MODEL  QEMU's CPU model (default pentium2)
  --qemu-count on|off
                    count QEMU's guest instructions with a TCG plugin built here with cc (default on;
                    its inline counter adds an add to every block QEMU runs: off times QEMU bare)
  --seabios DIR     where bios.bin and vgabios-stdvga.bin are (default ${SEABIOS_DIR})
  --node-option OPT an option for the node process that runs plex86, e.g. --cpu-prof
                    --cpu-prof-dir=DIR to profile it; may be repeated
  --plex86-cli FILE the script node runs as plex86 (default tools/cli/bin/plex86.mjs), e.g. the
                    CLI bundled with esbuild, whose profile lines map to one plain JavaScript file
  --passes N        run the workload N times in each machine (default 1): the first pass gives the
                    figures above; the later ones, whose guest code each engine has met before,
                    are reported apart, with the steps of the last pass (the split of the time
                    between the engine's warm-up and its speed on code it has translated)

Comparing two builds of plex86 (only plex86 runs; --engines and --baseline do not apply):
  --against FILE    the plex86 CLI of another build, e.g. WORKTREE/tools/cli/bin/plex86.mjs of a
                    git worktree at another commit: both builds boot and run the workload in turns,
                    each first in every other round, and the report gives each build's mean seconds
                    to the prompt, for the workload and for each step, the ratio of the means and
                    the median and range of the per-round ratios (the machine's drift shows as
                    their spread), then where each build's engine ran each step
  --rounds N        rounds of the comparison (default 3)`;

interface Settings {
  readonly engines: readonly EngineName[];
  readonly timeoutMs: number;
  readonly baseline: EngineName;
  readonly size: WorkloadSize;
  readonly memoryMiB: number;
  readonly qemuCpu: string;
  readonly qemuCount: boolean;
  readonly seabiosDir: string;
  readonly nodeOptions: readonly string[];
  readonly plex86Cli: string;
  /** The other build's CLI, when two builds are compared. */
  readonly against: string | undefined;
  readonly rounds: number;
  /** Runs of the workload in each machine. */
  readonly passes: number;
}

function parse(args: string[]): Settings | null {
  const values = parseBenchArgs(args, {
    ...HELP_OPTION,
    engines: { type: 'string' },
    timeout: { type: 'string' },
    baseline: { type: 'string' },
    scale: { type: 'string' },
    memory: { type: 'string' },
    'qemu-cpu': { type: 'string' },
    'qemu-count': { type: 'string' },
    seabios: { type: 'string' },
    'node-option': { type: 'string', multiple: true },
    'plex86-cli': { type: 'string' },
    against: { type: 'string' },
    rounds: { type: 'string' },
    passes: { type: 'string' },
  });
  if (values.help) return null;
  const against = values.against;
  if (against !== undefined) {
    if (values.engines !== undefined || values.baseline !== undefined)
      throw new Error('--against compares two builds of plex86: leave out --engines and --baseline');
    if (!existsSync(against)) throw new Error(`--against: no such file: ${against}`);
    if (values.passes !== undefined) throw new Error('--passes does not go with --against: it compares first passes');
  } else if (values.rounds !== undefined) {
    throw new Error('--rounds goes with --against');
  }
  const engine = (name: string, option: string): EngineName => {
    if ((ENGINES as readonly string[]).includes(name)) return name as EngineName;
    throw new Error(`--${option}: no engine "${name}" (engines: ${ENGINES.join(', ')})`);
  };
  const engines = (values.engines ?? ENGINES.join(',')).split(',').map((e) => engine(e.trim(), 'engines'));
  if (new Set(engines).size !== engines.length) throw new Error('--engines names an engine twice');
  const number = (name: string, value: string | undefined, fallback: number, max: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > max) {
      throw new Error(`--${name} wants a number above 0 and at most ${max}, not ${JSON.stringify(value)}`);
    }
    return n;
  };
  const scale = number('scale', values.scale, 1, 100);
  const memoryMiB = number('memory', values.memory, 256, 2048);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 32) throw new Error('--memory wants whole MiB, at least 32');
  const qemuCpu = values['qemu-cpu'] ?? 'pentium2';
  if (!/^[\w.,=+-]+$/.test(qemuCpu)) throw new Error(`--qemu-cpu: not a CPU model: ${JSON.stringify(qemuCpu)}`);
  const qemuCount = values['qemu-count'] ?? 'on';
  if (qemuCount !== 'on' && qemuCount !== 'off') throw new Error(`--qemu-count wants on or off, not ${qemuCount}`);
  const sized = (n: number) => Math.max(1, Math.round(n * scale));
  return {
    engines,
    timeoutMs: number('timeout', values.timeout, 300, 86_400) * 1000,
    baseline: engine(values.baseline ?? 'plex86', 'baseline'),
    size: {
      lines: sized(DEFAULT_WORKLOAD.lines),
      arithmetic: sized(DEFAULT_WORKLOAD.arithmetic),
      forks: sized(DEFAULT_WORKLOAD.forks),
    },
    memoryMiB,
    qemuCpu,
    qemuCount: qemuCount === 'on',
    seabiosDir: values.seabios ?? SEABIOS_DIR,
    nodeOptions: values['node-option'] ?? [],
    plex86Cli: values['plex86-cli'] ?? PLEX86_CLI,
    against,
    rounds: positiveInt('rounds', values.rounds, 3),
    passes: positiveInt('passes', values.passes, 1),
  };
}

/** One engine's machine, started and driven through its serial console. */
interface Launched {
  readonly machine: ConsoleProcess;
  /** Guest instructions so far, for engines that can say while they run. */
  readonly countNow?: () => Promise<number>;
  /** What plex86's engine did up to the count countNow read last (its statistics block). */
  readonly engineNow?: () => StatsFigures | undefined;
  /** Total guest instructions from what the engine printed when it exited. */
  readonly countAtExit?: (stderr: string) => number | undefined;
  /** Why the instruction count is missing, or only known over the whole run. */
  readonly noCount?: string;
  /** Ends the machine after the guest has powered off. */
  readonly finish: () => Promise<void>;
}

/** What one run of the workload measured. */
interface PassFigures {
  workloadSeconds?: number;
  workloadMips?: number;
  results?: WorkloadResults;
  /** Seconds of each workload step (see WORKLOAD_KEYS). */
  steps?: Record<WorkloadKey, number>;
  /** Guest instructions of each workload step, where the engine counts them. */
  stepInstructions?: Record<WorkloadKey, number>;
  /** What plex86's engine did in each workload step (the differences of its statistics). */
  stepEngine?: Record<WorkloadKey, StatsFigures>;
  wrong?: string;
}

/** One engine's run: its boot, the workload's first pass, and the passes after it (--passes). */
interface Outcome extends PassFigures {
  readonly engine: EngineName;
  readonly command: string;
  error?: string;
  bootSeconds?: number;
  runMips?: number;
  mipsNote?: string;
  /** The passes after the first, in order. */
  later?: PassFigures[];
}

function missing(what: string, install: string): Error {
  return new Error(`${what} is missing: ${install}`);
}

function launchPlex86(guest: Guest, settings: Settings): { command: string; start: () => Launched } {
  const args = [
    ...settings.nodeOptions,
    ...[settings.plex86Cli, 'run', '--kernel', guest.kernel, '--initrd', guest.initrd],
    ...['--append', guest.cmdline, '--memory', `${settings.memoryMiB}M`, '--stats'],
  ];
  return {
    command: `${process.execPath} ${args.join(' ')}`,
    start: () => {
      if (!existsSync(settings.plex86Cli))
        throw missing(settings.plex86Cli, 'the plex86 CLI belongs next to tools/bench');
      const machine = startConsoleProcess(process.execPath, args);
      let latest: StatsFigures | undefined;
      return {
        machine,
        countNow: async () => {
          latest = await plex86Figures(machine);
          return latest.instructions;
        },
        engineNow: () => latest,
        countAtExit: (stderr) => lastStatsFigures(stderr)?.instructions,
        noCount: 'plex86 run did not report its instruction count',
        finish: async () => {
          await machine.exited;
        },
      };
    },
  };
}

/** Asks a running `plex86 run --stats` for its figures so far (STATS_SIGNAL) and reads them. */
export function plex86Figures(machine: ConsoleProcess): Promise<StatsFigures> {
  const { child } = machine;
  const errors = child.stderr;
  if (!errors) return Promise.reject(new Error('plex86 was started without a stderr pipe'));
  return new Promise<StatsFigures>((resolve, reject) => {
    let text = '';
    const done = () => {
      clearTimeout(timer);
      errors.off('data', onData);
    };
    const onData = (chunk: string) => {
      text += chunk;
      const figures = lastStatsFigures(text);
      if (figures === undefined) return;
      done();
      resolve(figures);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`plex86 did not print its statistics within 10 s of ${STATS_SIGNAL}`));
    }, 10_000);
    errors.on('data', onData);
    child.kill(STATS_SIGNAL);
  });
}

function launchQemu(guest: Guest, settings: Settings): { command: string; start: () => Launched } {
  const args = qemuBootArgs(guest.kernel, guest.initrd, guest.cmdline, {
    cpu: settings.qemuCpu,
    memoryMiB: settings.memoryMiB,
  });
  const counted = settings.qemuCount ? ' -plugin qemu-count.so,out=FILE' : '';
  return {
    command: `${QEMU} ${args.join(' ')}${counted}`,
    start: () => {
      if (spawnSync(QEMU, ['--version']).error) throw missing(QEMU, 'apt-get install qemu-system-x86');
      if (!settings.qemuCount) {
        const machine = startConsoleProcess(QEMU, args);
        return {
          machine,
          noCount:
            'TCG counts guest instructions only with -icount (which changes its speed) or a TCG plugin ' +
            '(--qemu-count on builds one)',
          finish: async () => {
            await machine.exited;
          },
        };
      }
      let plugin: string;
      try {
        plugin = qemuCountPlugin();
      } catch (e) {
        const machine = startConsoleProcess(QEMU, args);
        return {
          machine,
          noCount: `no instruction count: ${e instanceof Error ? e.message : String(e)}`,
          finish: async () => {
            await machine.exited;
          },
        };
      }
      const dir = mkdtempSync(join(tmpdir(), 'plex86-bench-qemu-'));
      const counter = join(dir, 'count');
      const machine = startConsoleProcess(QEMU, [...args, '-plugin', `${plugin},out=${counter}`]);
      void machine.exited.then(() => rmSync(dir, { recursive: true, force: true }));
      return {
        machine,
        countNow: () => Promise.resolve(readQemuCount(counter)),
        finish: async () => {
          await machine.exited;
        },
      };
    },
  };
}

function launchV86(guest: Guest, settings: Settings): { command: string; start: () => Launched } {
  const self = fileURLToPath(import.meta.url);
  const runner = join(dirname(self), `boot-v86${extname(self)}`);
  const bios = join(settings.seabiosDir, 'bios.bin');
  const vgaBios = join(settings.seabiosDir, 'vgabios-stdvga.bin');
  const args = [
    ...['--import', 'tsx', runner, '--bios', bios, '--vga-bios', vgaBios],
    ...['--kernel', guest.kernel, '--initrd', guest.initrd, '--append', guest.cmdline],
    ...['--memory', String(settings.memoryMiB)],
  ];
  return {
    command: `${process.execPath} ${args.join(' ')}`,
    start: () => {
      for (const file of [bios, vgaBios]) if (!existsSync(file)) throw missing(file, 'apt-get install seabios');
      const machine = startConsoleProcess(process.execPath, args, { ipc: true });
      const { child } = machine;
      let requests = 0;
      const request = (type: V86Request['type']): number => {
        const id = ++requests;
        if (child.connected) child.send({ type, id } satisfies V86Request);
        return id;
      };
      return {
        machine,
        countNow: () =>
          new Promise<number>((resolve, reject) => {
            const id = request('count');
            const onMessage = (message: V86Count) => {
              if (message.type !== 'count' || message.id !== id) return;
              clearTimeout(timer);
              child.off('message', onMessage);
              resolve(message.instructions);
            };
            const timer = setTimeout(() => {
              child.off('message', onMessage);
              reject(new Error('v86 did not report its instruction count within 10 s'));
            }, 10_000);
            child.on('message', onMessage);
          }),
        finish: async () => {
          request('stop');
          await machine.exited;
        },
      };
    },
  };
}

const LAUNCHERS: Record<EngineName, (guest: Guest, settings: Settings) => { command: string; start: () => Launched }> =
  {
    plex86: launchPlex86,
    qemu: launchQemu,
    v86: launchV86,
  };

/** Calls `tick` with the seconds waited every `everyMs` until `promise` settles. */
async function withProgress<T>(promise: Promise<T>, everyMs: number, tick: (seconds: number) => void): Promise<T> {
  const started = performance.now();
  const timer = setInterval(() => tick((performance.now() - started) / 1000), everyMs);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}

/** Terminal control sequences (busybox's line editing asks for the cursor position). */
const ESCAPE_SEQUENCE = new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;?]*[A-Za-z]`, 'g');

function lastLine(text: string): string {
  const lines = text
    .replace(ESCAPE_SEQUENCE, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const line = lines.at(-1) ?? '';
  return line.length > 100 ? `${line.slice(0, 97)}...` : line;
}

/** `promise`, or a rejection with `message` once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** What is wrong with an engine's results, or undefined when they are the host's. */
function checkResults(results: WorkloadResults, expected: Partial<WorkloadResults>): string | undefined {
  const wrong = WORKLOAD_KEYS.filter((k) => expected[k] !== undefined && results[k] !== expected[k]);
  if (results.forked !== 'yes') wrong.push('forked');
  if (wrong.length === 0) return undefined;
  return wrong.map((k) => `${k}=${results[k]} (expected ${expected[k] ?? 'yes'})`).join(', ');
}

async function runEngine(
  engine: EngineName,
  guest: Guest,
  settings: Settings,
  expected: Partial<WorkloadResults>,
  print: (line: string) => void,
  label: string = engine,
): Promise<Outcome> {
  const launcher = LAUNCHERS[engine](guest, settings);
  const outcome: Outcome = { engine, command: launcher.command };
  const say = (line: string) => print(`${label}: ${line}`);
  say(`starting ${launcher.command}`);
  let launched: Launched | undefined;
  // A bench stopped by a signal must not leave a machine running.
  const onSignal = (signal: NodeJS.Signals) => {
    launched?.machine.kill();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const started = performance.now();
    launched = launcher.start();
    const { machine } = launched;
    const tick = (what: string) => (s: number) => {
      // The console's last line shows how far a slow boot has come.
      const last = lastLine(machine.console.tail(400));
      say(`${what} (${s.toFixed(0)} s)${last ? `; console: ${last}` : ''}`);
    };
    await withProgress(
      machine.console.waitFor(GUEST_PROMPT, settings.timeoutMs, 'shell prompt'),
      30_000,
      tick('booting'),
    );
    outcome.bootSeconds = (performance.now() - started) / 1000;
    say(`shell prompt after ${outcome.bootSeconds.toFixed(2)} s; typing the workload`);

    const count = launched.countNow;
    for (let pass = 1; pass <= settings.passes; pass++) {
      const what = settings.passes === 1 ? 'workload' : `workload pass ${pass} of ${settings.passes}`;
      if (pass > 1) {
        // The next pass is typed once the shell is back at its prompt.
        const guestConsole = machine.console;
        await guestConsole.waitFor(GUEST_PROMPT, 30_000, 'shell prompt', guestConsole.output.lastIndexOf(WORKLOAD_END));
      }
      const figures = await workloadPass(
        machine,
        count && { count, engine: launched.engineNow },
        settings,
        expected,
        tick(`${what} running`),
      );
      if (pass === 1) Object.assign(outcome, figures);
      else (outcome.later ??= []).push(figures);
      say(
        `${what} done in ${fixed(figures.workloadSeconds, 2)} s; ${figures.wrong ? `WRONG RESULTS: ${figures.wrong}` : 'results match the host'}`,
      );
    }

    machine.console.typeLines(['poweroff -f'], 30_000).catch(() => undefined);
    // "reboot: Power down", or "reboot: System halted" on a machine without a way to power off.
    await machine.console.waitFor('reboot: ', 60_000, 'power-off message');
    // An engine that prints its count at exit is not asked while it powers off (plex86 may be past
    // the point where it answers, and a signal then would end it).
    const atPowerOff = count && !launched.countAtExit ? await count() : undefined;
    const poweredOff = performance.now();
    await withProgress(
      within(launched.finish(), 30_000, 'the engine did not exit within 30 s of power-off'),
      10_000,
      tick('waiting for exit'),
    );
    const exit = await machine.exited;
    const total = atPowerOff ?? launched.countAtExit?.(exit.stderr);
    if (total !== undefined) outcome.runMips = total / ((poweredOff - started) / 1000) / 1e6;
    if (total === undefined && count === undefined && launched.countAtExit !== undefined) {
      outcome.mipsNote = `it printed no instruction count at exit; its stderr ends:\n${exit.stderr.slice(-500)}`;
    } else if (total === undefined || outcome.workloadMips === undefined) {
      outcome.mipsNote = launched.noCount;
    }
    say('powered off');
  } catch (e) {
    outcome.error = e instanceof Error ? e.message : String(e);
    say(`FAILED: ${outcome.error}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    launched?.machine.kill();
    if (launched) await launched.machine.exited;
  }
  return outcome;
}

/** A count read while the workload runs, with what plex86's engine did up to it. */
interface Reading {
  instructions: number;
  engine?: StatsFigures;
}

/**
 * Types the workload at the shell prompt and measures one run of it: seconds, results checked
 * against `expected`, and where the engine counts (`counter`), its instructions over the workload
 * and in each step, and for plex86 what its engine did in each step.
 */
async function workloadPass(
  machine: ConsoleProcess,
  counter: { count: () => Promise<number>; engine?: () => StatsFigures | undefined } | undefined,
  settings: Settings,
  expected: Partial<WorkloadResults>,
  tick: (seconds: number) => void,
): Promise<PassFigures> {
  let begin: Promise<Reading> | undefined;
  let end: Promise<Reading> | undefined;
  const atStep = new Map<WorkloadKey, Promise<Reading>>();
  // One count at a time: plex86 answers each signal with one statistics block, and a second
  // signal before the first answer would read the same block twice. A count is awaited after the
  // workload; until then a failure must not go unhandled.
  let last: Promise<unknown> = Promise.resolve();
  const countNext = (): Promise<Reading> | undefined => {
    if (!counter) return undefined;
    const next = last.then(async (): Promise<Reading> => {
      const instructions = await counter.count();
      return { instructions, engine: counter.engine?.() };
    });
    last = next.catch(() => undefined);
    next.catch(() => undefined);
    return next;
  };
  const run = await withProgress(
    runWorkload(machine.console, {
      size: settings.size,
      timeoutMs: settings.timeoutMs,
      onBegin: () => {
        begin = countNext();
      },
      onStep: (key) => {
        const at = countNext();
        if (at) atStep.set(key, at);
      },
      onEnd: () => {
        end = countNext();
      },
    }),
    30_000,
    tick,
  );
  const figures: PassFigures = {
    workloadSeconds: run.seconds,
    results: run.results,
    steps: run.steps,
    wrong: checkResults(run.results, expected),
  };
  if (begin && end) {
    const first = await begin;
    figures.workloadMips = ((await end).instructions - first.instructions) / run.seconds / 1e6;
    const readings = await stepReadings(atStep);
    figures.stepInstructions = stepDifferences(first, readings, (r) => r.instructions);
    if (first.engine !== undefined) figures.stepEngine = stepEngineFigures(first.engine, readings);
  }
  return figures;
}

/** The reading taken as each workload step's result line showed. */
async function stepReadings(atStep: ReadonlyMap<WorkloadKey, Promise<Reading>>): Promise<Record<WorkloadKey, Reading>> {
  const readings = {} as Record<WorkloadKey, Reading>;
  for (const key of WORKLOAD_KEYS) {
    const at = atStep.get(key);
    if (at === undefined) throw new Error(`no instruction count at the end of the workload step ${key}`);
    readings[key] = await at;
  }
  return readings;
}

/**
 * A figure of each step: the differences of `figure` between the readings at the steps' ends, the
 * first from the reading at the begin marker.
 */
function stepDifferences<T>(
  begin: T,
  atStep: Record<WorkloadKey, T>,
  figure: (at: T) => number,
): Record<WorkloadKey, number> {
  const steps = {} as Record<WorkloadKey, number>;
  let before = figure(begin);
  for (const key of WORKLOAD_KEYS) {
    const now = figure(atStep[key]);
    steps[key] = now - before;
    before = now;
  }
  return steps;
}

/** What plex86's engine did in each step, from its statistics at the begin marker and each step's end. */
function stepEngineFigures(
  begin: StatsFigures,
  readings: Record<WorkloadKey, Reading>,
): Record<WorkloadKey, StatsFigures> {
  const steps = {} as Record<WorkloadKey, StatsFigures>;
  let before = begin;
  for (const key of WORKLOAD_KEYS) {
    const now = readings[key].engine;
    if (now === undefined) throw new Error(`no engine statistics at the end of the workload step ${key}`);
    steps[key] = {
      instructions: now.instructions - before.instructions,
      pageFunctionInstructions: now.pageFunctionInstructions - before.pageFunctionInstructions,
      handoffs: now.handoffs - before.handoffs,
      relinks: now.relinks - before.relinks,
      chainedBlocks: now.chainedBlocks - before.chainedBlocks,
    };
    before = now;
  }
  return steps;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '));
}

/** Seconds under which a step is timer noise and gets no ratio or MIPS. */
const SHORT_STEP = 0.01;

const fixed = (n: number | undefined, digits: number) => (n === undefined ? 'n/a' : n.toFixed(digits));

/** A pass's results as a table shows them: whether they match the host's. */
function resultsCell(pass: PassFigures): string {
  if (pass.results === undefined) return 'n/a';
  return pass.wrong === undefined ? 'match' : 'WRONG';
}

function report(outcomes: readonly Outcome[], settings: Settings, print: (line: string) => void): void {
  print('');
  print(
    `workload: ${settings.size.lines} lines of data, ${settings.size.arithmetic} arithmetic iterations, ` +
      `${settings.size.forks} forks`,
  );
  // The JavaScript engines run on the Node that runs the bench; V8's version changes their speed.
  print(`plex86 and v86 ran on Node ${process.versions.node}`);
  const rows = [['engine', 'boot s', 'workload s', 'MIPS workload', 'MIPS run', 'results']];
  for (const o of outcomes) {
    const results = resultsCell(o);
    rows.push([
      o.engine,
      fixed(o.bootSeconds, 2),
      fixed(o.workloadSeconds, 2),
      fixed(o.workloadMips, 0),
      fixed(o.runMips, 0),
      results,
    ]);
  }
  for (const line of table(rows)) print(line);
  for (const o of outcomes) {
    if (o.error !== undefined) {
      const [first, ...rest] = o.error.split('\n');
      const last = lastLine(rest.join('\n'));
      print(`${o.engine} failed: ${first ?? ''}${last ? ` ${last}` : ''}`);
    }
    if (o.wrong !== undefined) print(`${o.engine} gave wrong results: ${o.wrong}`);
    if (o.mipsNote !== undefined && o.error === undefined) print(`${o.engine} MIPS: ${o.mipsNote}`);
  }
  const gzip = new Set(outcomes.flatMap((o) => (o.results ? [o.results.gzipBytes] : [])));
  if (gzip.size > 1) print(`engines disagree on gzipBytes: ${[...gzip].join(', ')}`);

  ratioReport(outcomes, settings.baseline, print);
  stepMipsReport(outcomes, print);
  engineStepReport(outcomes, print);
  laterReport(outcomes, settings, print);
}

/**
 * The passes after the first (--passes): each engine's seconds and MIPS per pass, then the last
 * pass step by step, as the first pass's figures are given.
 */
function laterReport(outcomes: readonly Outcome[], settings: Settings, print: (line: string) => void): void {
  if (settings.passes < 2) return;
  print('');
  print('later passes: the same workload again in the same machine, on guest code each engine has run before');
  const rows = [['engine', 'pass', 'workload s', 'MIPS workload', 'results']];
  for (const o of outcomes) {
    (o.later ?? []).forEach((pass, i) => {
      rows.push([
        o.engine,
        String(i + 2),
        fixed(pass.workloadSeconds, 2),
        fixed(pass.workloadMips, 0),
        resultsCell(pass),
      ]);
    });
  }
  for (const line of table(rows)) print(line);
  for (const o of outcomes) {
    for (const pass of o.later ?? [])
      if (pass.wrong !== undefined) print(`${o.engine} gave wrong results: ${pass.wrong}`);
  }
  // Each engine's last pass in place of its first; an engine that did not get that far drops out.
  const last = outcomes.flatMap((o) => {
    const pass = o.later?.[settings.passes - 2];
    return pass === undefined ? [] : [{ ...o, ...pass }];
  });
  const base = last.find((o) => o.engine === settings.baseline);
  const title = `pass ${settings.passes}, `;
  if (base !== undefined)
    stepReport(
      base,
      last.filter((o) => o !== base),
      settings.baseline,
      print,
      title,
    );
  stepMipsReport(last, print, title);
  engineStepReport(last, print, title);
}

/** The baseline against each other engine: as a whole and step by step (stepReport). */
function ratioReport(outcomes: readonly Outcome[], baseline: EngineName, print: (line: string) => void): void {
  const base = outcomes.find((o) => o.engine === baseline);
  const others = outcomes.filter((o) => o !== base);
  if (others.length === 0) return;
  print('');
  if (base === undefined || base.error !== undefined) {
    print(
      `no ratios against ${baseline}: ${base === undefined ? 'it was not run' : 'it failed'}` +
        ` (--baseline picks another engine)`,
    );
    return;
  }
  print(`${baseline} against each engine (above 1: ${baseline} is faster)`);
  const ratio = (mine: number | undefined, theirs: number | undefined) =>
    mine === undefined || theirs === undefined || mine <= 0 || theirs <= 0 ? 'n/a' : `${(mine / theirs).toFixed(2)}x`;
  const ratioRows = [['engine', 'boot', 'workload', 'MIPS workload', 'MIPS run']];
  for (const o of others) {
    ratioRows.push([
      o.engine,
      ratio(o.bootSeconds, base.bootSeconds),
      ratio(o.workloadSeconds, base.workloadSeconds),
      ratio(base.workloadMips, o.workloadMips),
      ratio(base.runMips, o.runMips),
    ]);
  }
  for (const line of table(ratioRows)) print(line);
  stepReport(base, others, baseline, print);
}

/** The workload's steps: seconds under every engine, and the baseline against each. */
function stepReport(
  base: Outcome,
  others: readonly Outcome[],
  baseline: EngineName,
  print: (line: string) => void,
  title = '',
): void {
  const timed = [base, ...others].filter((o) => o.steps !== undefined);
  if (base.steps === undefined || timed.length < 2) return;
  print('');
  print(
    `${title}workload steps: seconds under each engine, and ${baseline} against each (above 1: ${baseline} is faster)`,
  );
  const rows = [['step', ...timed.map((o) => `${o.engine} s`), ...timed.slice(1).map((o) => `vs ${o.engine}`)]];
  for (const key of WORKLOAD_KEYS) {
    const mine = base.steps[key];
    rows.push([
      WORKLOAD_STEPS[key],
      ...timed.map((o) => fixed(o.steps?.[key], 2)),
      ...timed.slice(1).map((o) => {
        const theirs = o.steps?.[key];
        // Steps that take a few milliseconds anywhere are timer noise, not a ratio.
        return theirs === undefined || mine < SHORT_STEP || theirs < SHORT_STEP
          ? 'n/a'
          : `${(theirs / mine).toFixed(2)}x`;
      }),
    ]);
  }
  for (const line of table(rows)) print(line);
}

/**
 * The workload's steps under each engine that counts its instructions: millions of instructions (the
 * same guest work should take about as many under every engine) and MIPS. Steps of a few
 * milliseconds get no MIPS: the counts are read as each result line shows, a moment after it.
 */
function stepMipsReport(outcomes: readonly Outcome[], print: (line: string) => void, title = ''): void {
  const counted = outcomes.filter((o) => o.stepInstructions !== undefined && o.steps !== undefined);
  if (counted.length === 0) return;
  print('');
  print(`${title}workload steps: millions of guest instructions and MIPS under each engine that counts them`);
  const rows = [['step', ...counted.map((o) => `${o.engine} M`), ...counted.map((o) => `${o.engine} MIPS`)]];
  for (const key of WORKLOAD_KEYS) {
    rows.push([
      WORKLOAD_STEPS[key],
      ...counted.map((o) => fixed((o.stepInstructions?.[key] ?? 0) / 1e6, 1)),
      ...counted.map((o) => {
        const seconds = o.steps?.[key] ?? 0;
        const instructions = o.stepInstructions?.[key] ?? 0;
        return seconds < SHORT_STEP ? 'n/a' : fixed(instructions / seconds / 1e6, 0);
      }),
    ]);
  }
  for (const line of table(rows)) print(line);
}

/**
 * Where plex86's engine ran each step: the share of the step's instructions run in page functions
 * (the rest ran through the handlers one by one), hand-offs from page function to page function and
 * those that looked the next one up, and blocks interpreted straight after the block before.
 */
function engineStepReport(outcomes: readonly Outcome[], print: (line: string) => void, title = ''): void {
  for (const o of outcomes) {
    const steps = o.stepEngine;
    if (steps === undefined) continue;
    print('');
    print(`${title}${o.engine} engine per step: millions of instructions, hand-offs and interpreted blocks`);
    const rows = [['step', 'M', 'in page functions', 'M hand-offs', 'M relinks', 'M chained blocks']];
    for (const key of WORKLOAD_KEYS) {
      const f = steps[key];
      const share =
        f.instructions > 0 ? `${((100 * f.pageFunctionInstructions) / f.instructions).toFixed(1)} %` : 'n/a';
      const millions = (n: number) => fixed(n / 1e6, 2);
      rows.push([
        WORKLOAD_STEPS[key],
        fixed(f.instructions / 1e6, 1),
        share,
        millions(f.handoffs),
        millions(f.relinks),
        millions(f.chainedBlocks),
      ]);
    }
    for (const line of table(rows)) print(line);
  }
}

/** Runs this build and the one at `against` in turns, `settings.rounds` times, and compares them. */
async function compareBuilds(
  settings: Settings,
  against: string,
  guest: Guest,
  expected: Partial<WorkloadResults>,
  print: (line: string) => void,
): Promise<void> {
  const other: Settings = { ...settings, plex86Cli: against };
  const rounds: ComparedRound[] = [];
  for (let r = 1; r <= settings.rounds; r++) {
    const run = (mine: boolean) =>
      runEngine(
        'plex86',
        guest,
        mine ? settings : other,
        expected,
        print,
        `round ${r}, ${mine ? 'this' : 'other'} build`,
      );
    // Each build goes first in every other round, so that neither always meets the machine's later state.
    if (r % 2 === 1) {
      const mine = await run(true);
      rounds.push({ mine, theirs: await run(false) });
    } else {
      const theirs = await run(false);
      rounds.push({ mine: await run(true), theirs });
    }
  }
  compareReport(rounds, settings.plex86Cli, against, table, print);
}

export const bootBenchmark: Benchmark = {
  description: 'boot the default guest to its shell and run the guest workload: plex86 next to QEMU TCG and v86',
  async run(args, print) {
    const settings = parse(args);
    if (settings === null) {
      print(USAGE);
      return;
    }
    const guest = await buildGuest({ onProgress: (line) => print(`guest: ${line}`) });
    const expected: Partial<WorkloadResults> = referenceResults(settings.size);
    if (settings.against !== undefined) {
      await compareBuilds(settings, settings.against, guest, expected, print);
      return;
    }
    const outcomes: Outcome[] = [];
    for (const engine of settings.engines) {
      outcomes.push(await runEngine(engine, guest, settings, expected, print));
    }
    report(outcomes, settings, print);
  },
};
