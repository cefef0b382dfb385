/**
 * `plex86 run`: test programs with QEMU's conventions (--rom, --kernel Multiboot, --memory,
 * --debugcon [PORT:]TARGET, --exit-port, --serial, --max-instructions, --stats) and Linux guests
 * (--kernel bzImage, --initrd) whose consoles and disks are HAL devices on a bus. The CLI command
 * parses argv into RunOptions, starts the backends it wants on the bus and calls runMachine.
 */

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { cachedKernel } from '../boot/kernel-cache.js';
import { isBzImage, kernelPayload, loadLinux, readSetupHeader, unpackKernel } from '../boot/linux.js';
import type { Bus } from '@plex86/bus';
import { SerialConsole } from '../console/serial-console.js';
import { ByteOutput } from './devices/byte-output.js';
import { VECTOR_NAMES } from '../cpu/fault.js';
import { writePirTable } from '../pci/pir-table.js';
import { attachVirtioDevices, type VirtioDiskSpec, type VirtioNetSpec } from '../virtio/attach.js';
import { DEFAULT_DEBUGCON_PORT } from './devices/debugcon.js';
import { Machine } from './machine.js';
import type { MachineSetup } from '@plex86/proto';
import { serveSnapshotService, type SnapshotSaver } from '../snapshot/bus-service.js';
import type { SnapshotFile } from '../snapshot/file.js';
import type { SnapshotTarget } from '../snapshot/machine-state.js';
import { imageFormat, restoreSnapshot, saveSnapshot } from '../snapshot/session.js';
import { readTextScreen } from './devices/text-screen.js';
import type { MultibootModule } from '../boot/multiboot.js';

const textEncoder = new TextEncoder();

export interface RunOptions {
  /** BIOS image (64 KiB, 128 KiB or any multiple of 4 KiB), mapped to end at 0xFFFFF and 4 GiB. */
  rom?: string;
  /** Multiboot v1 kernel (ELF32, or a flat image with the header's address fields). */
  kernel?: string;
  /** Kernel command line (Multiboot information or Linux boot_params). */
  append?: string;
  /**
   * Initial RAM disk for a Linux kernel; for a Multiboot kernel, its boot modules as QEMU takes
   * them: `FILE [ARGS][,FILE [ARGS]...]`, each module's string being `FILE [ARGS]`.
   */
  initrd?: string;
  /** Where a bzImage's compressed kernel is unpacked: `host` (default) or `guest` (its own decompressor). */
  bootDecompress?: string;
  /** Where kernels unpacked on the host are kept for later runs (boot/kernel-cache.ts); none: nowhere. */
  kernelCache?: string;
  /** RAM size: a number with an optional K, M or G suffix (MiB when bare). Default 128M. */
  memory?: string;
  /** Debug consoles, each `[PORT:]TARGET` with TARGET `stdio`, `stderr` or a file; port 0xE9 by default. */
  debugcon?: string[];
  /** Writing v to this port ends the run with status (v << 1) | 1. */
  exitPort?: string;
  /**
   * COM1 16550A output: `stdio` (the default), a file, or `bus` (console `ttyS0` on the bus, with
   * input through ConsoleService, like the virtio console).
   */
  serial?: string;
  /** The bus for HAL devices and consoles on it; needed for `disks`, `virtioConsoles` and serial `bus`. */
  bus?: Bus;
  /** VM id in bus subjects (default vm1). */
  vm?: string;
  /** virtio-blk disks, served by a block backend on the bus (the storage service). */
  disks?: VirtioDiskSpec[];
  /** virtio-net interfaces, each linked to a network segment. */
  nets?: VirtioNetSpec[];
  /** virtio-console ids (Linux's hvc0, hvc1, ...); their backends follow them on the bus. */
  virtioConsoles?: string[];
  /** Virtual time when the guest idles: `warp` (default) skips to the next event, `realtime` waits for it. */
  clock?: 'warp' | 'realtime';
  /** Stop after this many instructions with status 124. */
  maxInstructions?: string;
  /** Print run statistics to stderr at the end. */
  stats?: boolean;
  /**
   * Continue a snapshot instead of loading a program: the options must build the machine the
   * snapshot's setup describes (memory, disks, consoles, interfaces, ports).
   */
  restore?: SnapshotFile;
  /** At the end of the run, write the 80x25 text screen at 0xB8000 as text to `stdio` or a file. */
  textScreen?: string;
}

export interface RunIo {
  /** Program output (debug console or serial bound to stdio). */
  stdout(data: Uint8Array): void;
  /** Messages for the user. */
  stderr(text: string): void;
  /** Ends the run (status 0) when aborted, e.g. when the user quits the console. */
  signal?: AbortSignal;
  /**
   * Called once the machine is loaded and its devices are on the bus, before the first instruction,
   * with a function that saves snapshots of it.
   */
  onStart?: (machine: Machine, snapshots: SnapshotSaver) => void;
}

/** With --stats, this signal makes a running machine print its statistics so far. */
export const STATS_SIGNAL = 'SIGUSR2';

/** The serial console's id on the bus. */
export const SERIAL_CONSOLE_ID = 'ttyS0';

/** A mistake in the options: the CLI prints it with the usage. */
export class RunOptionError extends Error {
  override readonly name = 'RunOptionError';
}

/** Parses a size such as 128M, 64K, 1G or 256 (MiB). */
export function parseMemorySize(text: string): number {
  const m = /^(\d+)([KMG]?)(i?B)?$/i.exec(text.trim());
  if (m === null) throw new RunOptionError(`--memory needs a size like 128M, got "${text}"`);
  const unit = (m[2] ?? '').toUpperCase();
  const scale = unit === 'K' ? 1024 : unit === 'G' ? 1024 ** 3 : 1024 ** 2;
  const bytes = Number(m[1]) * scale;
  if (bytes < 1 << 20 || bytes > 0x7ffff000)
    throw new RunOptionError(`--memory must be between 1M and 2047M, got "${text}"`);
  if (bytes % 4096 !== 0) throw new RunOptionError(`--memory must be a multiple of 4K, got "${text}"`);
  return bytes;
}

/** Parses a port number: 0x-prefixed hex or decimal, 0..0xFFFF. */
export function parsePort(text: string, option: string): number {
  const t = text.trim();
  const v = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? parseInt(t, 10) : NaN;
  if (!(v >= 0 && v <= 0xffff)) throw new RunOptionError(`${option} needs a port number (e.g. 0xf4), got "${text}"`);
  return v;
}

/** Runs a machine to its end; returns the process exit status. Option errors throw RunOptionError. */
export async function runMachine(options: RunOptions, io: RunIo): Promise<number> {
  if (options.rom === undefined && options.kernel === undefined && options.restore === undefined) {
    throw new RunOptionError('give a program to run: --rom FILE or --kernel FILE');
  }
  const memory = parseMemorySize(options.memory ?? '128M');
  const maxInstructions =
    options.maxInstructions === undefined ? Infinity : Number.parseInt(options.maxInstructions, 10);
  if (options.maxInstructions !== undefined && !(maxInstructions > 0 && /^\d+$/.test(options.maxInstructions))) {
    throw new RunOptionError(`--max-instructions needs a positive number, got "${options.maxInstructions}"`);
  }
  const bus = options.bus;
  const vm = options.vm ?? 'vm1';
  const needsBus =
    (options.disks?.length ?? 0) > 0 ||
    (options.virtioConsoles?.length ?? 0) > 0 ||
    (options.nets?.length ?? 0) > 0 ||
    options.serial === 'bus';
  if (needsBus && bus === undefined) throw new RunOptionError('disks, virtio consoles and a bus serial need a bus');
  const machine = new Machine({ memory, clock: options.clock ?? 'warp' });
  machine.onNotice = (text) => io.stderr(`${text}\n`);
  const closers: (() => Promise<void>)[] = [];
  const outputs: ByteOutput[] = [];
  const debugconPorts: number[] = [];
  let snapshotTarget: SnapshotTarget = { machine };
  const files: number[] = [];
  const target = (spec: string): ByteOutput => {
    let out: ByteOutput;
    if (spec === 'stdio') out = new ByteOutput((d) => io.stdout(d));
    else if (spec === 'stderr') out = new ByteOutput((d) => io.stderr(new TextDecoder().decode(d)));
    else {
      let fd: number;
      try {
        fd = openSync(spec, 'w');
      } catch (e) {
        throw new RunOptionError(`cannot open ${spec} for output: ${(e as Error).message}`);
      }
      files.push(fd);
      out = new ByteOutput((d) => writeSync(fd, d));
    }
    outputs.push(out);
    return out;
  };
  try {
    for (const spec of options.debugcon ?? []) {
      const m = /^([^:]+):(.+)$/.exec(spec);
      const port =
        m !== null && /^(0x[0-9a-f]+|\d+)$/i.test(m[1]) ? parsePort(m[1], '--debugcon') : DEFAULT_DEBUGCON_PORT;
      const dest = m !== null && /^(0x[0-9a-f]+|\d+)$/i.test(m[1]) ? m[2] : spec;
      machine.addDebugcon(port, target(dest).sink);
      debugconPorts.push(port);
    }
    if (options.exitPort !== undefined) machine.setExitPort(parsePort(options.exitPort, '--exit-port'));
    if (options.serial === 'bus' && bus !== undefined) {
      const serial = new SerialConsole(bus, vm, SERIAL_CONSOLE_ID, machine);
      machine.addSerial(serial.output.sink);
      outputs.push(serial.output);
      const service = await serial.serveInput(bus, vm);
      closers.push(() => service.stop());
    } else {
      machine.addSerial(target(options.serial ?? 'stdio').sink);
    }
    if (bus !== undefined && needsBus) {
      const devices = await attachVirtioDevices({
        bus,
        vm,
        io: machine.io,
        mem: machine.mem,
        setIrq: (line, level) => machine.platform.pic.setIrq(line, level),
        onEvent: () => machine.wake(),
        disks: options.disks ?? [],
        consoles: (options.virtioConsoles ?? []).map((id) => ({ id })),
        nets: options.nets ?? [],
        virtualTimeNs: () => BigInt(Math.round(machine.clock.now())),
        log: (line) => io.stderr(`plex86: ${line}\n`),
      });
      closers.push(() => devices.close());
      machine.addBusySource(() => devices.busy);
      machine.addPacedSource(() => devices.paced);
      snapshotTarget = {
        machine,
        pci: devices.pci,
        virtio: [
          ...devices.blocks.map((device, i) => ({ id: options.disks?.[i]?.id ?? `disk${i}`, device })),
          ...devices.consoles.map((device) => ({ id: device.consoleId, device })),
          ...devices.nets.map((device) => ({ id: device.id, device })),
        ],
      };
      if (options.rom === undefined) writePirTable(machine.mem, devices.pci);
    }

    if (options.restore !== undefined) restoreSnapshot(snapshotTarget, options.restore);
    else {
      if (options.rom !== undefined) machine.loadBios(readProgram(options.rom));
      if (options.kernel !== undefined) await loadKernel(machine, options);
    }
    const setup = machineSetup(options, machine, debugconPorts);
    const snapshots: SnapshotSaver = (path, stop) => saveSnapshot(snapshotTarget, path, { vmId: vm, setup, stop });
    if (bus !== undefined) {
      const service = await serveSnapshotService(bus, vm, snapshots);
      closers.push(() => service.stop());
    }
    machine.onSlice = () => {
      for (const o of outputs) o.flush();
    };
    io.onStart?.(machine, snapshots);
    const signal = io.signal;
    const onAbort = () => machine.requestStop('stopped by the user');
    if (signal?.aborted === true) onAbort();
    signal?.addEventListener('abort', onAbort);
    // --stats: SIGUSR2 asks for the figures so far (the bench reads the instruction count that way).
    const first = machine.cpu.executed;
    const startMs = performance.now();
    const onStatsRequest = () =>
      io.stderr(statsText(machine, machine.cpu.executed - first, (performance.now() - startMs) / 1000));
    if (options.stats === true) process.on(STATS_SIGNAL, onStatsRequest);
    let result;
    try {
      result = await machine.run(maxInstructions);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      process.off(STATS_SIGNAL, onStatsRequest);
    }
    for (const o of outputs) o.flush();
    if (result.message !== '') io.stderr(`${result.message}\n`);
    if (options.stats === true) io.stderr(statsText(machine, result.instructions, result.seconds));
    if (options.textScreen !== undefined) {
      const screen = target(options.textScreen);
      for (const b of textEncoder.encode(readTextScreen(machine.mem))) screen.sink(b);
      screen.flush();
    }
    return result.status;
  } finally {
    for (const fd of files) closeSync(fd);
    for (const close of closers.reverse()) await close();
  }
}

/** What a snapshot records of how the machine was built, so that a restore can build it again. */
function machineSetup(options: RunOptions, machine: Machine, debugconPorts: number[]): MachineSetup {
  return {
    memoryBytes: BigInt(machine.mem.ramSize),
    nsPerInstruction: machine.clock.nsPerInstruction,
    serial: machine.uart !== undefined,
    exitPort: options.exitPort === undefined ? undefined : parsePort(options.exitPort, '--exit-port'),
    debugconPorts,
    disks: (options.disks ?? []).map((d) => ({
      id: d.id,
      readOnly: d.readOnly === true,
      spec: d.source?.spec ?? '',
      format: imageFormat(d.source?.format),
      files: (d.source?.files ?? []).map((path) => ({ path, sizeBytes: 0n, mtimeNs: 0n })),
    })),
    virtioConsoles: [...(options.virtioConsoles ?? [])],
    nets: (options.nets ?? []).map((n) => ({ id: n.id, mac: n.mac, segment: n.segment ?? '' })),
  };
}

/** Loads --kernel: a Linux bzImage (with --initrd) or a Multiboot kernel, told apart by their headers. */
async function loadKernel(machine: Machine, options: RunOptions): Promise<void> {
  const image = readProgram(options.kernel ?? '');
  const cmdline = options.append ?? '';
  const decompress = options.bootDecompress ?? 'host';
  if (decompress !== 'host' && decompress !== 'guest') {
    throw new RunOptionError(`--boot-decompress takes host or guest, got "${decompress}"`);
  }
  if (!isBzImage(image)) {
    machine.loadKernel(image, cmdline, options.initrd === undefined ? [] : readModules(options.initrd));
    return;
  }
  const initrd = options.initrd === undefined ? undefined : readProgram(options.initrd);
  // A bzImage without a compressed payload has nothing to unpack: its protected-mode part is the program.
  const header = readSetupHeader(image);
  const unpack = decompress === 'host' && header.payloadLength !== 0;
  let vmlinux: Uint8Array | undefined;
  if (unpack) {
    const cache = options.kernelCache;
    const unpackHere = () => unpackKernel(image, header);
    vmlinux =
      cache === undefined ? await unpackHere() : await cachedKernel(kernelPayload(image, header), cache, unpackHere);
  }
  loadLinux(machine.cpu, machine.mem, image, { cmdline, initrd, decompress: unpack ? 'host' : 'guest' }, vmlinux);
  machine.blocks.flush();
}

/** Reads Multiboot modules given as `FILE [ARGS][,FILE [ARGS]...]`. */
function readModules(spec: string): MultibootModule[] {
  return spec.split(',').map((item) => {
    const cmdline = item.trim();
    const file = cmdline.split(/\s+/)[0];
    if (file === '') throw new RunOptionError(`--initrd has an empty module in "${spec}"`);
    return { data: readProgram(file), cmdline };
  });
}

function readProgram(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new RunOptionError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

function percent(part: number, whole: number): string {
  return whole > 0 ? ((100 * part) / whole).toFixed(2) : '0.00';
}

/** What a statistics block (--stats) says about the engine's work, as a tool reads it back. */
export interface StatsFigures {
  instructions: number;
  /** Of those, the instructions run in page functions (the rest ran through the handlers one by one). */
  pageFunctionInstructions: number;
  /** Page functions entered straight from another, and how many of those looked the next one up. */
  handoffs: number;
  relinks: number;
  /** Blocks interpreted straight after the block before, without the run loop. */
  chainedBlocks: number;
}

const STATS_BLOCK =
  /^instructions {5}(\d+)\n(?:.*\n)*?compiled code {4}[\d.]+% of instructions \((\d+)\) ran in page functions \(entered (\d+) times straight from another, (\d+) of them through a lookup past the links\), the rest through the handlers one by one \((\d+) blocks of them straight after the block before\)\n(?:.*\n)*?time {13}.*\n/gm;

/**
 * The figures of the last whole statistics block in `text` (what `run --stats` writes to stderr,
 * at the end and on STATS_SIGNAL), or undefined when there is none yet.
 */
export function lastStatsFigures(text: string): StatsFigures | undefined {
  const last = [...text.matchAll(STATS_BLOCK)].pop();
  if (last === undefined) return undefined;
  const [instructions, pageFunctionInstructions, handoffs, relinks, chainedBlocks] = last.slice(1, 6).map(Number);
  return {
    instructions: instructions as number,
    pageFunctionInstructions: pageFunctionInstructions as number,
    handoffs: handoffs as number,
    relinks: relinks as number,
    chainedBlocks: chainedBlocks as number,
  };
}

function statsText(machine: Machine, instructions: number, seconds: number): string {
  const e = machine.engine.stats;
  const monitor = e.sensitive + e.faults + e.interrupts + e.slowFetches;
  const fast = Math.max(0, instructions - monitor);
  const exits = e.exceptionsByVector
    .map((n, v) => (n > 0 ? `${VECTOR_NAMES[v] ?? `vector ${v}`} ${n}` : ''))
    .filter((s) => s !== '')
    .join(', ');
  const lines = [
    `instructions     ${instructions}`,
    `fast path        ${percent(fast, instructions)}% of instructions ran from pre-decoded blocks without the monitor`,
    `monitor exits    ${e.sensitive} sensitive/privileged instructions; exceptions: ${exits || 'none'}; external interrupts: ${e.interrupts}; ${e.slowFetches} instructions fetched one by one (${machine.engine.crossPage.reused} of them found decoded before)`,
    `blocks           ${e.blocks} entered (by the run loop or straight from the block before), ${e.compiledBlocks} compiled into ${e.regions} page functions (and ${e.borrowedBlocks} into those of pages that pass control to them); ${machine.blocks.describe()}`,
    `compiled code    ${percent(e.regionInstructions, instructions)}% of instructions (${e.regionInstructions}) ran in page functions (entered ${e.regionHandoffs} times straight from another, ${e.regionRelinks} of them through a lookup past the links), the rest through the handlers one by one (${e.chainedBlocks} blocks of them straight after the block before)`,
    ...(e.warmBlocks > 0
      ? [
          `warm tier        ${percent(e.warmInstructions, instructions)}% of instructions ran in ${e.warmBlocks} blocks compiled to ${e.warmModules} WebAssembly modules (${percent(e.warmInlined, e.warmRecords)}% of their records in WebAssembly, the rest calling their handlers)`,
        ]
      : []),
    `port I/O         ${machine.io.unmappedWrites} writes to unclaimed ports dropped, ${machine.io.unmappedReads} reads of unclaimed ports`,
    `time             ${seconds.toFixed(3)} s, ${(instructions / Math.max(seconds, 1e-9) / 1e6).toFixed(2)} MIPS`,
  ];
  return `${lines.join('\n')}\n`;
}
