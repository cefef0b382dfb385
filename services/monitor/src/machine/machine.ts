/**
 * A PC: RAM, an optional BIOS ROM, the I/O port space with the PC platform chips (PIC, PIT, RTC,
 * keyboard controller), debug consoles, an exit port and a 16550A UART, one CPU and the run loop.
 * `run` drives the engine in slices bounded by the next timer event, fires timers, lets a halted
 * guest skip to its next event (or sleep until it in real time), waits for asynchronous device
 * work, and turns why it stopped into an exit status.
 */

import { Cpu } from '../cpu/cpu.js';
import { Seg } from '../cpu/registers.js';
import { DecodingBlockSource, type BlockSource } from '../engine/block-source.js';
import { RecordArena } from '../engine/record-arena.js';
import { SbeBlockSource } from '../engine/sbe-source.js';
import { Engine, resolveHandler, StopReason } from '../engine/engine.js';
import { PortSpace } from '../io/port-space.js';
import { PhysicalMemory } from '../memory/physical-memory.js';
import { attachDebugcon, type ByteSink } from './devices/debugcon.js';
import { attachExitPort } from './devices/exit-port.js';
import { attachFpuErrorPort } from './devices/fpu-error.js';
import { COM1_BASE, Uart16550 } from './devices/uart16550.js';
import { enterMultiboot, loadMultiboot, writeMultibootInfo, type MultibootModule } from '../boot/multiboot.js';
import { Irq, PcPlatform } from '../platform/pc.js';
import { AcpiPm, SCI_IRQ } from '../acpi/pm.js';
import type { VirtualClock } from '../platform/clock.js';

/** Exit statuses besides the exit port's odd (v << 1) | 1. */
export const enum ExitStatus {
  /** HLT with nothing to wake the CPU. */
  HALTED = 0,
  /** --max-instructions reached. */
  MAX_INSTRUCTIONS = 124,
  /** Triple fault: the processor shut down. */
  SHUTDOWN = 126,
}

/** The guest reset the machine (a reboot): the run ends with success, as QEMU's -no-reboot does. */
export const RESET_EXIT_STATUS = 0;

/** The guest powered the machine off (ACPI soft-off, S5): the run ends with success. */
export const POWER_OFF_EXIT_STATUS = 0;

export type RunEnd = 'exit-port' | 'halted' | 'max-instructions' | 'shutdown' | 'reset' | 'power-off' | 'stopped';

/**
 * Instructions between event-loop yields: short enough for host I/O latency, long enough to cost
 * nothing (with 2 000 000 the bench workload took as long: 1.006x, three rounds in turns).
 */
export const DEFAULT_SLICE_INSTRUCTIONS = 250_000;

/**
 * Timer events in a row that a halted guest skipped to without any interrupt being taken: every
 * source is masked, so nothing will ever wake it.
 */
const MAX_IDLE_WARPS = 100_000;

/** Timer events a halted guest skips to between event-loop yields. */
const WARPS_PER_YIELD = 16;

/**
 * A debugger that may own execution (MachineDebugger): while it holds the machine, `run` leaves the
 * engine alone and waits for it to let go.
 */
export interface DebugHold {
  readonly holding: boolean;
  /** Resolves when the debugger lets go: true to run on, false when it stopped the VM. */
  whenReleased(): Promise<boolean>;
}

export interface RunResult {
  status: number;
  end: RunEnd;
  /** One line for stderr (empty for an exit-port exit). */
  message: string;
  /** Instructions executed (Cpu.executed: the clock's instruction-times less PAUSE's stalls). */
  instructions: number;
  seconds: number;
}

export interface MachineConfig {
  /** RAM in bytes. */
  memory: number;
  /** Where pre-decoded blocks come from: the Scan-Before-Execute cache (default) or a simple decoding cache. */
  blocks?: 'sbe' | 'decode';
  /**
   * Block runs before a block is compiled into one function, at every privilege (tests use 1 to
   * compile everything); by default CPL 0 code waits longer (engine.ts KERNEL_COMPILE_THRESHOLD).
   */
  compileThreshold?: number;
  /**
   * The warm tier (engine/wasm/block-tier.ts): block runs before a block is compiled to WebAssembly
   * (negative: never), blocks per module, and how many records without WebAssembly code a block may have.
   */
  warmTier?: { threshold?: number; batch?: number; maxFallbacks?: number };
  /** Words of packed records the block source holds before its arena starts over (record-arena.ts); tests shrink it. */
  recordArenaWords?: number;
  /**
   * What a halted guest's time does: 'warp' (the default) jumps virtual time to the next timer event,
   * so idling costs nothing and runs are reproducible (a paced source, see addPacedSource, makes it
   * wait as 'realtime' does); 'realtime' sleeps until the host's clock reaches it, for interactive use.
   */
  clock?: 'warp' | 'realtime';
  /** Virtual nanoseconds per instruction (default 5: a 200 MHz virtual CPU). */
  nsPerInstruction?: number;
  /** The RTC's time at power-on, ms since the epoch (default: the host's time). */
  rtcStartTime?: number;
}

export class Machine {
  readonly mem: PhysicalMemory;
  readonly io: PortSpace;
  readonly cpu: Cpu;
  readonly blocks: BlockSource;
  readonly engine: Engine;
  readonly platform: PcPlatform;
  readonly clock: VirtualClock;
  /** ACPI fixed hardware: PM1 event and control blocks, PM timer, reset register. */
  readonly acpi: AcpiPm;
  uart: Uart16550 | undefined;
  /** Who asked for a machine reset (set once; the run then ends). */
  resetSource: string | undefined;
  /** Called when the guest resets the machine, with who asked (e.g. "keyboard controller command FEh"). */
  onReset: ((source: string) => void) | undefined;
  /** The guest powered the machine off (set once; the run then ends). */
  poweredOff = false;
  /** Device messages for the user while the machine runs (requests it refuses). */
  onNotice: (text: string) => void = (text) => process.stderr.write(`${text}\n`);
  private exitStatus: number | undefined;
  private readonly timeMode: 'warp' | 'realtime';
  /** Asynchronous device operations started and not yet completed. */
  private inFlight = 0;
  private stopReason: string | undefined;
  private readonly busySources: (() => boolean)[] = [];
  private readonly pacedSources: (() => boolean)[] = [];
  /** A wake() arrived since the run loop last looked. */
  private woken = false;
  private wakeWaiter: (() => void) | undefined;
  /** Inside run(): an earlier timer may cut the current slice short. */
  private running = false;
  /** Snapshot holds taken (holdAtBoundary); while any is, the run loop keeps the CPU parked. */
  private holds = 0;
  /** The run loop is parked for a hold. */
  private parked = false;
  private readonly parkWaiters: (() => void)[] = [];

  constructor(config: MachineConfig) {
    this.mem = new PhysicalMemory({ ramSize: config.memory });
    this.io = new PortSpace();
    // The block source may install its code map in memory, so it comes before the CPU.
    const records = new RecordArena(config.recordArenaWords);
    const blocks =
      config.blocks === 'decode'
        ? new DecodingBlockSource(this.mem, resolveHandler, true, records)
        : new SbeBlockSource(this.mem, resolveHandler, records);
    this.cpu = new Cpu(this.mem, this.io);
    blocks.onInvalidate = () => this.cpu.requestExit();
    this.blocks = blocks;
    this.timeMode = config.clock ?? 'warp';
    this.platform = new PcPlatform(this.cpu, this.mem, this.io, {
      nsPerInstruction: config.nsPerInstruction,
      rtcStartTime: config.rtcStartTime,
      reset: (source) => this.requestReset(source),
    });
    this.clock = this.platform.clock;
    // A guest that programs a timer event before the end of the running slice gets the slice cut.
    this.clock.onEarlier = () => {
      if (this.running) this.engine.stop();
    };
    this.engine = new Engine(this.cpu, blocks, this.platform.pic);
    const pic = this.platform.pic;
    this.acpi = new AcpiPm({
      clock: this.clock,
      setSci: (level) => pic.setIrq(SCI_IRQ, level),
      powerOff: () => this.requestPowerOff(),
      reset: (source) => this.requestReset(source),
      notice: (text) => this.onNotice(text),
    });
    this.acpi.attach(this.io);
    attachFpuErrorPort(this.io, this.cpu);
    // FERR# reaches IRQ13 through the chipset's latch (an edge at the slave PIC).
    this.cpu.onFerr = () => {
      this.platform.pic.setIrq(Irq.FPU, true);
      this.platform.pic.setIrq(Irq.FPU, false);
    };
    if (config.compileThreshold !== undefined) this.engine.compileThreshold = config.compileThreshold;
    const warm = config.warmTier;
    if (warm?.threshold !== undefined) this.engine.warmThreshold = warm.threshold;
    if (warm?.batch !== undefined) this.engine.warmBatch = warm.batch;
    if (warm?.maxFallbacks !== undefined) this.engine.warmFallbacks = warm.maxFallbacks;
  }

  /** Maps a BIOS image (64 or 128 KiB, or larger) to end at 0xFFFFF and below 4 GiB; the CPU starts at its reset vector. */
  loadBios(image: Uint8Array): void {
    this.mem.loadBios(image);
    this.cpu.reset();
    this.blocks.flush();
  }

  /** Loads a Multiboot kernel (and its boot modules) and enters it in 32-bit protected mode. */
  loadKernel(image: Uint8Array, cmdline = '', modules: readonly MultibootModule[] = []): void {
    const loaded = loadMultiboot(this.mem, image);
    const info = writeMultibootInfo(this.mem, loaded, cmdline, modules);
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

  /** COM1 at 3F8h on IRQ 4; `serialInput` feeds it bytes from the host. */
  addSerial(sink: ByteSink): Uart16550 {
    const pic = this.platform.pic;
    const uart = new Uart16550(sink, (level) => pic.setIrq(Irq.COM1, level));
    uart.attach(this.io, COM1_BASE);
    this.uart = uart;
    return uart;
  }

  /**
   * Bytes typed on the host for COM1: queued for the guest, raising receive interrupts; wakes the
   * CPU. Returns how many the UART's bounded host queue took.
   */
  serialInput(bytes: Uint8Array): number {
    if (this.uart === undefined) throw new Error('the machine has no serial port (addSerial first)');
    const accepted = this.uart.input(bytes);
    this.wake();
    return accepted;
  }

  /**
   * A device reports asynchronous work (a completion or input arrived): a run waiting for an event
   * resumes at once. Call it after raising the interrupt.
   */
  wake(): void {
    this.woken = true;
    const w = this.wakeWaiter;
    if (w !== undefined) {
      this.wakeWaiter = undefined;
      w();
    }
  }

  /** A device started an asynchronous operation: a halted guest waits for it instead of ending the run. */
  beginWork(): void {
    this.inFlight++;
  }

  /** The operation completed (after its interrupt was raised); wakes the run loop. */
  endWork(): void {
    if (this.inFlight > 0) this.inFlight--;
    this.wake();
  }

  /** Asynchronous device operations in flight (counted ones and those of the busy sources). */
  get workInFlight(): number {
    let n = this.inFlight;
    for (const busy of this.busySources) if (busy()) n++;
    return n;
  }

  /**
   * Devices that track their own outstanding requests (virtio queues waiting on a backend) report
   * them here instead of through beginWork/endWork.
   */
  addBusySource(busy: () => boolean): void {
    this.busySources.push(busy);
  }

  /**
   * Devices whose input comes from peers that keep the host's time (a network interface the driver
   * has up): while one reports true, a halted guest's time follows the host's clock in warp mode
   * too, so the guest's network timeouts (ARP, TCP, ping) measure its peers' real delays instead of
   * expiring while virtual time races from timer to timer.
   */
  addPacedSource(paced: () => boolean): void {
    this.pacedSources.push(paced);
  }

  /** Whether a halted guest's time must follow the host's clock (see addPacedSource). */
  private get paced(): boolean {
    for (const paced of this.pacedSources) if (paced()) return true;
    return false;
  }

  /** The guest pulsed the reset line: the run ends after the current instruction. */
  requestReset(source: string): void {
    if (this.resetSource !== undefined) return;
    this.resetSource = source;
    this.onReset?.(source);
    this.engine.stop();
  }

  /** The guest entered the soft-off state: the run ends after the current instruction with status 0. */
  requestPowerOff(): void {
    if (this.poweredOff) return;
    this.poweredOff = true;
    this.engine.stop();
  }

  /** Ends the run from outside (the user quit): status 0, `why` as its message. */
  requestStop(why: string): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = why;
    this.engine.stop();
    this.wake();
  }

  /** CS:EIP as text, for messages; `eip` defaults to the current one. */
  where(eip = this.cpu.eip): string {
    const cpu = this.cpu;
    return `${hex(cpu.segSel[Seg.CS], 4)}:${hex(eip, cpu.codeBits === 16 ? 4 : 8)}`;
  }

  /**
   * Holds the CPU at an instruction boundary with no device work in flight, for a snapshot: resolves
   * once the run loop is parked (at once when it is not running, or a debugger holds it) and every
   * asynchronous device operation has completed. Call the returned function to let it run on.
   */
  async holdAtBoundary(): Promise<() => void> {
    this.holds++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.holds--;
      this.wake();
    };
    try {
      if (this.running && !this.parked && this.debugHold?.holding !== true) {
        const parked = new Promise<void>((resolve) => this.parkWaiters.push(resolve));
        this.wake();
        await parked;
      }
      // Completions write guest memory and raise interrupts: they must land before the state is read.
      while (this.workInFlight > 0) await new Promise<void>((resolve) => setTimeout(resolve, 1));
    } catch (e) {
      release();
      throw e;
    }
    return release;
  }

  /** Parks the run loop while a snapshot hold is taken (or until the run is stopped). */
  private async parkWhileHeld(): Promise<void> {
    this.parked = true;
    this.onSlice?.();
    for (const resolve of this.parkWaiters.splice(0)) resolve();
    while (this.holds > 0 && this.stopReason === undefined) {
      await new Promise<void>((resolve) => (this.wakeWaiter = resolve));
      this.wakeWaiter = undefined;
    }
    this.parked = false;
    this.woken = false;
  }

  /** Called before every event-loop yield of the run loop (output flushing). */
  onSlice: (() => void) | undefined;

  /** The debugger attached to this machine, if any; see `run`. */
  debugHold: DebugHold | undefined;

  /**
   * Runs until the exit port is written, the CPU halts for good, it shuts down, the guest resets the
   * machine or powers it off, or `maxInstructions` have run. Timers fire on time: the engine runs at most up to the
   * next timer event. Yields to the event loop every `sliceInstructions` so host I/O keeps flowing.
   */
  async run(maxInstructions = Infinity, sliceInstructions = DEFAULT_SLICE_INSTRUCTIONS): Promise<RunResult> {
    const cpu = this.cpu;
    const clock = this.clock;
    const engine = this.engine;
    const start = performance.now();
    const first = cpu.executed;
    const result = (status: number, end: RunEnd, message: string): RunResult => ({
      status,
      end,
      message,
      instructions: cpu.executed - first,
      seconds: (performance.now() - start) / 1000,
    });
    // Real-time mode: virtual time `anchorNs` corresponds to host time `anchorMs`.
    let anchorMs = performance.now();
    let anchorNs = clock.now();
    let idleWarps = 0;
    let interruptsSeen = engine.stats.interrupts;
    let yieldAt = cpu.instructions + sliceInstructions;
    let warpsSinceYield = 0;
    this.running = true;
    try {
      for (;;) {
        if (this.stopReason !== undefined) return result(ExitStatus.HALTED, 'stopped', `plex86: ${this.stopReason}`);
        if (this.holds > 0) {
          await this.parkWhileHeld();
          // Time spent held is not guest time.
          anchorMs = performance.now();
          anchorNs = clock.now();
          yieldAt = cpu.instructions + sliceInstructions;
          continue;
        }
        if (this.debugHold?.holding === true) {
          // The debugger drives the engine (through runSlice, so timers keep firing) until it lets go.
          const resume = await this.untilReleased(this.debugHold);
          if (this.stopReason !== undefined) continue;
          const ended = this.endedByGuest(result);
          if (ended !== undefined) return ended;
          if (!resume) return result(ExitStatus.HALTED, 'stopped', 'plex86: the VM ended under the debugger');
          // Time spent held is not guest time: real-time mode starts counting again from here.
          anchorMs = performance.now();
          anchorNs = clock.now();
          idleWarps = 0;
          yieldAt = cpu.instructions + sliceInstructions;
          continue;
        }
        clock.runDue();
        // In executed instructions; the budget below is in instruction-times, which are never fewer.
        const left = first + maxInstructions - cpu.executed;
        if (left <= 0) {
          return result(
            ExitStatus.MAX_INSTRUCTIONS,
            'max-instructions',
            `plex86: stopped after ${cpu.executed - first} instructions (--max-instructions) at ${this.where()}`,
          );
        }
        let budget = yieldAt - cpu.instructions;
        if (left < budget) budget = left;
        const next = clock.nextDeadline();
        if (next !== Infinity) {
          const until = clock.instructionsUntil(next);
          if (until < budget) budget = until;
        }
        if (budget < 1) budget = 1;
        clock.horizon = clock.now() + budget * clock.nsPerInstruction;
        const reason = engine.run(budget);
        clock.horizon = -Infinity;
        const ended = this.endedByGuest(result);
        if (ended !== undefined) return ended;
        if (reason === StopReason.SHUTDOWN) {
          return result(ExitStatus.SHUTDOWN, 'shutdown', `plex86: ${engine.shutdownMessage}; the machine shut down`);
        }
        if (reason === StopReason.HALTED) {
          if (engine.stats.interrupts !== interruptsSeen) {
            interruptsSeen = engine.stats.interrupts;
            idleWarps = 0;
          }
          const wait = await this.waitWhileHalted(anchorMs, anchorNs);
          if (wait === 'end') return this.haltResult(result);
          if (wait === 'warped' && ++idleWarps > MAX_IDLE_WARPS) {
            return result(
              ExitStatus.HALTED,
              'halted',
              `plex86: CPU halted at ${this.where(cpu.insEip)} and no interrupt reached it through ${MAX_IDLE_WARPS} timer events (masked at the PIC?)`,
            );
          }
          if (wait === 'warped' && ++warpsSinceYield < WARPS_PER_YIELD) continue;
          // An idle guest skipping from event to event still lets host I/O (typing, completions) in.
          if (wait === 'warped') {
            this.onSlice?.();
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
          warpsSinceYield = 0;
          yieldAt = cpu.instructions + sliceInstructions;
          continue;
        }
        if (cpu.instructions >= yieldAt) {
          warpsSinceYield = 0;
          this.onSlice?.();
          await new Promise<void>((resolve) => setImmediate(resolve));
          yieldAt = cpu.instructions + sliceInstructions;
        }
      }
    } finally {
      this.running = false;
      for (const resolve of this.parkWaiters.splice(0)) resolve();
      clock.horizon = -Infinity;
      this.onSlice?.();
    }
  }

  /** The run's end when the guest wrote the exit port, reset the machine or powered it off. */
  private endedByGuest(result: (status: number, end: RunEnd, message: string) => RunResult): RunResult | undefined {
    if (this.exitStatus !== undefined) return result(this.exitStatus, 'exit-port', '');
    if (this.resetSource !== undefined) {
      return result(
        RESET_EXIT_STATUS,
        'reset',
        `plex86: the guest reset the machine (${this.resetSource}) at ${this.where(this.cpu.insEip)}; the run ends`,
      );
    }
    if (this.poweredOff) return result(POWER_OFF_EXIT_STATUS, 'power-off', 'plex86: the guest powered the machine off');
    return undefined;
  }

  /** Waits for the debugger to let go or for requestStop; true when the guest should run on. */
  private async untilReleased(hold: DebugHold): Promise<boolean> {
    let resume: boolean | undefined;
    void hold.whenReleased().then((r) => {
      resume = r;
      this.wake();
    });
    this.onSlice?.();
    // wake() also comes from devices; only a release or a stop ends the wait.
    while (resume === undefined && this.stopReason === undefined) {
      await new Promise<void>((resolve) => (this.wakeWaiter = resolve));
      this.wakeWaiter = undefined;
    }
    this.woken = false;
    return resume ?? false;
  }

  /**
   * One synchronous step of the run loop for callers that drive the engine themselves (a debugger):
   * fires due timers, runs at most `budget` instructions but no further than the next timer event,
   * and when the guest halts with interrupts enabled and a timer armed, moves virtual time to that
   * event. Returns the engine's reason; HALTED only when no armed timer can wake the CPU.
   */
  runSlice(budget: number): StopReason {
    const clock = this.clock;
    clock.runDue();
    const next = clock.nextDeadline();
    let n = budget;
    if (next !== Infinity) {
      const until = clock.instructionsUntil(next);
      if (until < n) n = until < 1 ? 1 : until;
    }
    const reason = this.engine.run(n);
    if (reason === StopReason.HALTED && this.cpu.interruptsEnabled && clock.nextDeadline() !== Infinity) {
      clock.warpTo(clock.nextDeadline());
      clock.runDue();
      return StopReason.BUDGET;
    }
    return reason;
  }

  /**
   * The CPU is halted. Returns 'end' when nothing can wake it, 'warped' when virtual time jumped to
   * the next timer event, 'woke' after waiting for a device or for real time.
   */
  private async waitWhileHalted(anchorMs: number, anchorNs: number): Promise<'end' | 'warped' | 'woke'> {
    const cpu = this.cpu;
    const clock = this.clock;
    const canInterrupt = cpu.interruptsEnabled;
    const next = canInterrupt ? clock.nextDeadline() : Infinity;
    const inFlight = this.workInFlight;
    if (inFlight === 0 && (next === Infinity || !canInterrupt)) return 'end';
    if (this.woken) {
      // Something arrived while the guest was running: look again before sleeping.
      this.woken = false;
      this.onSlice?.();
      await new Promise<void>((resolve) => setImmediate(resolve));
      return 'woke';
    }
    if (inFlight === 0 && this.timeMode === 'warp' && !this.paced) {
      clock.warpTo(next);
      return 'warped';
    }
    // Sleep in real time until the next event's time comes or a device wakes the machine. In warp
    // mode with work in flight or a paced source, the wait for the event is as long as its distance
    // in virtual time, so guest timeouts do not race ahead of the host's I/O or the guest's peers.
    const nowMs = performance.now();
    const delayMs =
      next === Infinity
        ? Infinity
        : this.timeMode === 'realtime'
          ? anchorMs + (next - anchorNs) / 1e6 - nowMs
          : (next - clock.now()) / 1e6;
    this.onSlice?.();
    if (delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timeout = delayMs === Infinity ? undefined : setTimeout(done, Math.min(delayMs, 0x7fffffff));
        function done(): void {
          if (timeout !== undefined) clearTimeout(timeout);
          resolve();
        }
        this.wakeWaiter = done;
      });
      this.wakeWaiter = undefined;
    }
    const woken = this.woken;
    this.woken = false;
    if (next !== Infinity) {
      if (!woken) clock.warpTo(next);
      else {
        // Catch up with the host's clock (in warp mode: by the time slept), but not past the event
        // that is due next.
        const target =
          this.timeMode === 'realtime'
            ? anchorNs + (performance.now() - anchorMs) * 1e6
            : clock.now() + (performance.now() - nowMs) * 1e6;
        clock.warpTo(target < next ? target : next);
      }
    }
    return 'woke';
  }

  private haltResult(result: (status: number, end: RunEnd, message: string) => RunResult): RunResult {
    const cpu = this.cpu;
    if (cpu.ferrWaiting) {
      return result(
        ExitStatus.HALTED,
        'halted',
        `plex86: an x87 instruction waits on FERR# (unmasked exception with CR0.NE=0, no IRQ13 to handle it) at ${this.where(cpu.insEip)}`,
      );
    }
    const why = cpu.interruptsEnabled ? 'with nothing to wake it' : 'with interrupts disabled';
    return result(ExitStatus.HALTED, 'halted', `plex86: CPU halted ${why} at ${this.where(cpu.insEip)}`);
  }
}

function hex(v: number, digits: number): string {
  return (v >>> 0).toString(16).toUpperCase().padStart(digits, '0');
}
