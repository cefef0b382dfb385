/**
 * A PC-like machine for running test programs: RAM, an optional BIOS ROM, the I/O port space with
 * debug consoles, an exit port and a 16550A UART, one CPU and the run loop. `run` drives the engine in
 * slices and turns why it stopped into an exit status.
 */

import { Cpu } from '../cpu/cpu.js';
import { Seg } from '../cpu/registers.js';
import { DecodingBlockSource, type BlockSource } from '../engine/block-source.js';
import { SbeBlockSource } from '../engine/sbe-source.js';
import { Engine, resolveHandler, StopReason } from '../engine/engine.js';
import { PortSpace } from '../io/port-space.js';
import { PhysicalMemory } from '../memory/physical-memory.js';
import { attachDebugcon, type ByteSink } from './devices/debugcon.js';
import { attachExitPort } from './devices/exit-port.js';
import { attachFpuErrorPort } from './devices/fpu-error.js';
import { COM1_BASE, Uart16550 } from './devices/uart16550.js';
import { enterMultiboot, loadMultiboot, writeMultibootInfo } from '../boot/multiboot.js';

/** Exit statuses besides the exit port's odd (v << 1) | 1. */
export const enum ExitStatus {
  /** HLT with nothing to wake the CPU. */
  HALTED = 0,
  /** --max-instructions reached. */
  MAX_INSTRUCTIONS = 124,
  /** Triple fault: the processor shut down. */
  SHUTDOWN = 126,
}

export type RunEnd = 'exit-port' | 'halted' | 'max-instructions' | 'shutdown';

export interface RunResult {
  status: number;
  end: RunEnd;
  /** One line for stderr (empty for an exit-port exit). */
  message: string;
  instructions: number;
  seconds: number;
}

export interface MachineConfig {
  /** RAM in bytes. */
  memory: number;
  /** Where pre-decoded blocks come from: the Scan-Before-Execute cache (default) or a simple decoding cache. */
  blocks?: 'sbe' | 'decode';
  /** Block runs before a block is compiled into one function (tests use 1 to compile everything). */
  compileThreshold?: number;
}

export class Machine {
  readonly mem: PhysicalMemory;
  readonly io: PortSpace;
  readonly cpu: Cpu;
  readonly blocks: BlockSource;
  readonly engine: Engine;
  uart: Uart16550 | undefined;
  private exitStatus: number | undefined;

  constructor(config: MachineConfig) {
    this.mem = new PhysicalMemory({ ramSize: config.memory });
    this.io = new PortSpace();
    // The block source may install its code map in memory, so it comes before the CPU.
    const blocks =
      config.blocks === 'decode'
        ? new DecodingBlockSource(this.mem, resolveHandler)
        : new SbeBlockSource(this.mem, resolveHandler);
    this.cpu = new Cpu(this.mem, this.io);
    blocks.onInvalidate = () => this.cpu.requestExit();
    this.blocks = blocks;
    this.engine = new Engine(this.cpu, blocks);
    attachFpuErrorPort(this.io, this.cpu);
    if (config.compileThreshold !== undefined) this.engine.compileThreshold = config.compileThreshold;
  }

  /** Maps a BIOS image (64 or 128 KiB, or larger) to end at 0xFFFFF and below 4 GiB; the CPU starts at its reset vector. */
  loadBios(image: Uint8Array): void {
    this.mem.loadBios(image);
    this.cpu.reset();
    this.blocks.flush();
  }

  /** Loads a Multiboot kernel and enters it in 32-bit protected mode. */
  loadKernel(image: Uint8Array, cmdline = ''): void {
    const loaded = loadMultiboot(this.mem, image);
    const info = writeMultibootInfo(this.mem, cmdline);
    enterMultiboot(this.cpu, this.mem, loaded.entry, info);
    this.blocks.flush();
  }

  addDebugcon(port: number, sink: ByteSink): void {
    attachDebugcon(this.io, port, sink);
  }

  setExitPort(port: number): void {
    attachExitPort(this.io, port, (status) => {
      if (this.exitStatus === undefined) this.exitStatus = status;
      this.engine.stop();
    });
  }

  addSerial(sink: ByteSink): Uart16550 {
    const uart = new Uart16550(sink);
    uart.attach(this.io, COM1_BASE);
    this.uart = uart;
    return uart;
  }

  /** CS:EIP as text, for messages; `eip` defaults to the current one. */
  where(eip = this.cpu.eip): string {
    const cpu = this.cpu;
    return `${hex(cpu.segSel[Seg.CS], 4)}:${hex(eip, cpu.codeBits === 16 ? 4 : 8)}`;
  }

  /** Called after every slice of the run loop (output flushing). */
  onSlice: (() => void) | undefined;

  /**
   * Runs until the exit port is written, the CPU halts for good, it shuts down, or `maxInstructions`
   * have run. Yields to the event loop between slices so host I/O keeps flowing.
   */
  async run(maxInstructions = Infinity, sliceInstructions = 2_000_000): Promise<RunResult> {
    const cpu = this.cpu;
    const start = performance.now();
    const first = cpu.instructions;
    const result = (status: number, end: RunEnd, message: string): RunResult => ({
      status,
      end,
      message,
      instructions: cpu.instructions - first,
      seconds: (performance.now() - start) / 1000,
    });
    for (;;) {
      const left = first + maxInstructions - cpu.instructions;
      if (left <= 0) {
        return result(
          ExitStatus.MAX_INSTRUCTIONS,
          'max-instructions',
          `plex86: stopped after ${cpu.instructions - first} instructions (--max-instructions) at ${this.where()}`,
        );
      }
      const reason = this.engine.run(Math.min(left, sliceInstructions));
      this.onSlice?.();
      if (this.exitStatus !== undefined) return result(this.exitStatus, 'exit-port', '');
      if (reason === StopReason.HALTED && cpu.ferrWaiting) {
        return result(
          ExitStatus.HALTED,
          'halted',
          `plex86: an x87 instruction waits on FERR# (unmasked exception with CR0.NE=0, no IRQ13 to handle it) at ${this.where(cpu.insEip)}`,
        );
      }
      if (reason === StopReason.HALTED) {
        const why = (cpu.eflags & 0x200) === 0 ? 'with interrupts disabled' : 'with nothing to wake it';
        return result(ExitStatus.HALTED, 'halted', `plex86: CPU halted ${why} at ${this.where(cpu.insEip)}`);
      }
      if (reason === StopReason.SHUTDOWN) {
        return result(ExitStatus.SHUTDOWN, 'shutdown', `plex86: ${this.engine.shutdownMessage}; the machine shut down`);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

function hex(v: number, digits: number): string {
  return (v >>> 0).toString(16).toUpperCase().padStart(digits, '0');
}
