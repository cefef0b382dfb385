/**
 * The monitor side of debugging: one Machine held, stepped and run under a debugger's control.
 *
 * Breakpoints never touch guest memory: they are marks in the SBE attribute pages (so scanned blocks
 * end before them) and linear addresses the debugger checks. While the debugger needs to see instruction boundaries it
 * stands in front of the machine's block source: a block is cut before the first instruction at a
 * breakpoint, a lookup at a breakpoint returns a one-record block whose routine stops the engine
 * before anything executes, and in single-step or watch mode every block is one instruction long.
 * With no breakpoints, watchpoints or step pending, the block source is the machine's own and the
 * run loop pays nothing.
 *
 * Write watchpoints compare the watched bytes at every instruction boundary, so one fires after an
 * instruction that changed them. Read and access watchpoints mark their linear pages in the MMU, whose
 * TLB fill then sends every read (and, for access watches, write) of those pages down the CPU's slow
 * paths; those report the access here, and a hit ends the run after the current instruction. Pages
 * without a watch keep the fast path. A repeated string instruction reports its hit when its slice of
 * iterations ends, not after the iteration that touched the range.
 */

import { Block, CodeMode, Instruction } from '@plex86/x86';
import type { Cpu } from '../cpu/cpu.js';
import { WatchPage } from '../cpu/paging.js';
import { Seg } from '../cpu/registers.js';
import type { BlockSource } from '../engine/block-source.js';
import { StopReason as EngineStop } from '../engine/engine.js';
import type { Fpu } from '../fpu/fpu.js';
import { SbeBlockSource } from '../engine/sbe-source.js';
import type { Machine } from '../machine/machine.js';
import { debugTranslate, readDebugMemory, writeDebugMemory } from './memory.js';
import { readCpuRegisters, RegisterWriteError, writeCpuRegisters } from './registers.js';
import { cpuFpu } from './x87.js';
import {
  WireAddressSpace,
  WireBreakpointKind,
  WireExitReason,
  WireStopReason,
  WireWatchKind,
  type WireCpuRegisters,
  type WireDebugStatus,
  type WireStopEvent,
} from './wire.js';

/** Why a request was refused; `code` names the plex86.v1.ErrorCode without its prefix. */
export class DebugError extends Error {
  override readonly name = 'DebugError';
  constructor(
    readonly code: 'BAD_REQUEST' | 'FAILED_PRECONDITION' | 'NOT_FOUND' | 'UNIMPLEMENTED',
    message: string,
  ) {
    super(message);
  }
}

export interface MachineDebuggerOptions {
  /** Instructions per run slice between yields to the event loop. */
  readonly sliceInstructions?: number;
  /** The machine's x87 unit, when it is not attached to the CPU as `cpu.fpu`. */
  readonly fpu?: Fpu;
  /** Called when a debugger detaches; the VM's owner takes execution back (running when `resume`). */
  readonly onDetach?: (resume: boolean) => void;
}

const enum Trap {
  NONE,
  BREAKPOINT,
  WATCHPOINT,
  STEP,
}

type DebugState = 'detached' | 'halted' | 'running' | 'exited';

interface Watch {
  readonly kind: WireWatchKind;
  readonly address: number;
  readonly length: number;
  /** The bytes at the last instruction boundary. */
  last: Uint8Array;
}

/** Steps and memory transfers the wire contract allows. */
const MAX_STEP = 1_000_000;
const MAX_TRANSFER = 0x10000;
const MAX_WATCH = 4096;
const GDB_SIGTRAP = 5;
const GDB_SIGINT = 2;
/** How often a halted guest waiting for device work looks for its interrupt while the debugger runs it. */
const HALTED_POLL_MS = 1;

export class MachineDebugger {
  private state: DebugState = 'detached';
  private sequence = 0n;
  private lastStop: WireStopEvent | undefined;
  private readonly listeners = new Set<(stop: WireStopEvent) => void>();
  private readonly breakpoints = new Map<number, Set<WireBreakpointKind>>();
  /** Physical address of the SBE mark set for each breakpoint's linear address, and marks per address. */
  private readonly marks = new Map<number, number>();
  private readonly markCounts = new Map<number, number>();
  private readonly watches: Watch[] = [];
  /** WatchPage bits set in the MMU per linear page for the read and access watches. */
  private readonly watchPageBits = new Map<number, number>();
  private readonly watchedAccess = (lin: number, size: number, write: boolean): void => this.onAccess(lin, size, write);
  private readonly slice: number;

  // Engine-facing state, read by the lookup wrapper.
  private readonly inner: BlockSource;
  private readonly innerLookup: BlockSource['lookup'];
  /** The one-record block that stops the engine before an instruction (never cached: slot -1). */
  private readonly trapBlock = new Block();
  private installed = false;
  private stepsLeft = -1;
  private skipLinear = -1;
  private trap = Trap.NONE;
  private trapAddress = 0;
  private trapKind = 0;
  private trapWatch: Watch | undefined;
  private haltRequested = false;
  private running: Promise<void> | undefined;
  /** Resolved with the stop that ends the current run (steps and halts wait on it). */
  private stopWaiters: ((stop: WireStopEvent) => void)[] = [];
  private releaseWaiters: ((resume: boolean) => void)[] = [];

  constructor(
    readonly machine: Machine,
    private readonly options: MachineDebuggerOptions = {},
  ) {
    this.slice = options.sliceInstructions ?? 200_000;
    // The machine's own run loop leaves the engine to us while we hold it.
    machine.debugHold = this;
    this.inner = machine.blocks;
    this.innerLookup = machine.blocks.lookup;
    const trapIns = new Instruction();
    trapIns.length = 0;
    const trap = (cpu: Cpu) => {
      // Nothing executed: the engine counts the record, so take it back, and stop before it.
      cpu.instructions--;
      cpu.exitBlock = true;
      this.machine.engine.stop();
    };
    const block = this.trapBlock;
    block.instructions = [trapIns];
    block.count = 1;
    // Without a packed form the run loop calls these routines and compiles nothing for the block.
    block.routines = [trap];
  }

  // ---- queries ---------------------------------------------------------------------------------

  get halted(): boolean {
    return this.state === 'halted';
  }

  /**
   * True from the first halt until detach: the debugger owns execution and the VM's own run loop must
   * not run the machine (it waits for `whenReleased`). `plex86 run --gdb-wait` halts before the first
   * instruction, so gdb finds the CPU there.
   */
  get holding(): boolean {
    return this.state !== 'detached';
  }

  /** Resolves when the debugger detaches: true when the VM should run on, false to stay paused. */
  whenReleased(): Promise<boolean> {
    if (this.state === 'detached') return Promise.resolve(true);
    return new Promise((resolve) => this.releaseWaiters.push(resolve));
  }

  status(): WireDebugStatus {
    let count = 0;
    for (const kinds of this.breakpoints.values()) count += kinds.size;
    return {
      halted: this.state === 'halted' || this.state === 'exited',
      lastStop: this.lastStop,
      breakpointCount: count,
      watchpointCount: this.watches.length,
    };
  }

  /** Registers a stop listener (the bus publishes stops with it); returns its remover. */
  onStop(listener: (stop: WireStopEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private requireHalted(what: string): void {
    if (this.state !== 'halted') {
      throw new DebugError('FAILED_PRECONDITION', `${what} needs the VM halted by the debugger (it is ${this.state})`);
    }
  }

  private requireLive(what: string): void {
    if (this.state === 'exited') throw new DebugError('FAILED_PRECONDITION', `${what}: the VM has exited`);
  }

  readRegisters(): WireCpuRegisters {
    this.requireHalted('ReadRegisters');
    return readCpuRegisters(this.machine.cpu, this.options.fpu ?? cpuFpu(this.machine.cpu));
  }

  writeRegisters(registers: WireCpuRegisters | undefined): void {
    this.requireHalted('WriteRegisters');
    if (registers === undefined) throw new DebugError('BAD_REQUEST', 'WriteRegisters without registers');
    try {
      writeCpuRegisters(this.machine.cpu, registers, this.options.fpu ?? cpuFpu(this.machine.cpu));
    } catch (e) {
      if (e instanceof RegisterWriteError) throw new DebugError('BAD_REQUEST', e.message);
      throw e;
    }
  }

  private checkTransfer(space: number, address: bigint, length: number): boolean {
    if (space !== WireAddressSpace.LINEAR && space !== WireAddressSpace.PHYSICAL) {
      throw new DebugError('BAD_REQUEST', 'the address space must be LINEAR or PHYSICAL');
    }
    if (length < 1 || length > MAX_TRANSFER) {
      throw new DebugError('BAD_REQUEST', `length ${length} is outside 1 to ${MAX_TRANSFER}`);
    }
    if (address > 0xffffffffn) throw new DebugError('BAD_REQUEST', `address ${address.toString(16)} is above 4 GiB`);
    return space === WireAddressSpace.LINEAR;
  }

  readMemory(space: number, address: bigint, length: number): Uint8Array {
    this.requireHalted('ReadMemory');
    const linear = this.checkTransfer(space, address, length);
    return readDebugMemory(this.machine.cpu, Number(address), length, linear);
  }

  writeMemory(space: number, address: bigint, data: Uint8Array): number {
    this.requireHalted('WriteMemory');
    const linear = this.checkTransfer(space, address, data.length);
    const written = writeDebugMemory(this.machine.cpu, Number(address), data, linear);
    this.resnapshotWatches();
    return written;
  }

  // ---- breakpoints and watchpoints -------------------------------------------------------------

  insertBreakpoint(kind: number, address: bigint): void {
    this.requireLive('InsertBreakpoint');
    if (kind !== WireBreakpointKind.SOFTWARE && kind !== WireBreakpointKind.HARDWARE) {
      throw new DebugError('BAD_REQUEST', 'the breakpoint kind must be SOFTWARE or HARDWARE');
    }
    if (address > 0xffffffffn) throw new DebugError('BAD_REQUEST', 'breakpoint address above 4 GiB');
    const lin = Number(address);
    let kinds = this.breakpoints.get(lin);
    if (kinds === undefined) this.breakpoints.set(lin, (kinds = new Set()));
    kinds.add(kind);
    this.mark(lin);
    this.updateHook();
  }

  removeBreakpoint(kind: number, address: bigint): void {
    this.requireLive('RemoveBreakpoint');
    const lin = Number(address);
    const kinds = this.breakpoints.get(lin);
    if (kinds === undefined || !kinds.delete(kind)) {
      throw new DebugError('NOT_FOUND', `no breakpoint of kind ${kind} at ${lin.toString(16)}`);
    }
    if (kinds.size === 0) {
      this.breakpoints.delete(lin);
      this.unmark(lin);
    }
    this.updateHook();
  }

  /** Marks the breakpoint in the SBE attribute page of the physical page it maps to now. */
  private mark(lin: number): void {
    const blocks = this.machine.blocks;
    if (!(blocks instanceof SbeBlockSource) || this.marks.has(lin)) return;
    const phys = debugTranslate(this.machine.cpu, lin);
    if (phys < 0 || phys >= this.machine.mem.ramSize) return;
    const n = this.markCounts.get(phys) ?? 0;
    if (n === 0) blocks.cache.setBreakpoint(phys);
    this.markCounts.set(phys, n + 1);
    this.marks.set(lin, phys);
  }

  private unmark(lin: number): void {
    const phys = this.marks.get(lin);
    const blocks = this.machine.blocks;
    if (phys === undefined || !(blocks instanceof SbeBlockSource)) return;
    this.marks.delete(lin);
    const n = (this.markCounts.get(phys) ?? 1) - 1;
    if (n === 0) {
      this.markCounts.delete(phys);
      blocks.cache.clearBreakpoint(phys);
    } else {
      this.markCounts.set(phys, n);
    }
  }

  /**
   * The SBE attribute page of the page that holds a linear address, for the current code size; the
   * attributes are empty when the page is not mapped, not scanned, or the machine does not use SBE.
   */
  sbePage(address: number): { physicalPage: number; attributes: Uint8Array } {
    const cpu = this.machine.cpu;
    const phys = debugTranslate(cpu, address >>> 0);
    const blocks = this.machine.blocks;
    if (phys < 0) return { physicalPage: -1, attributes: new Uint8Array(0) };
    const page = phys >>> 12;
    const mode = cpu.codeBits === 32 ? CodeMode.Bits32 : CodeMode.Bits16;
    const scanned = blocks instanceof SbeBlockSource ? blocks.cache.scannedPage(page, mode) : undefined;
    return { physicalPage: page * 4096, attributes: scanned === undefined ? new Uint8Array(0) : scanned.attrs.slice() };
  }

  insertWatchpoint(kind: number, address: bigint, length: number): void {
    this.requireLive('InsertWatchpoint');
    if (kind !== WireWatchKind.WRITE && kind !== WireWatchKind.READ && kind !== WireWatchKind.ACCESS)
      throw new DebugError('BAD_REQUEST', 'the watch kind must be WRITE, READ or ACCESS');
    if (length < 1 || length > MAX_WATCH)
      throw new DebugError('BAD_REQUEST', `watch length ${length} is outside 1 to 4096`);
    if (address + BigInt(length) > 0x100000000n) throw new DebugError('BAD_REQUEST', 'watched range above 4 GiB');
    const lin = Number(address);
    if (this.watches.some((w) => w.kind === kind && w.address === lin && w.length === length)) return;
    this.watches.push({ kind, address: lin, length, last: this.watchedBytes(lin, length) });
    this.syncWatchPages();
    this.updateHook();
  }

  removeWatchpoint(kind: number, address: bigint, length: number): void {
    this.requireLive('RemoveWatchpoint');
    const lin = Number(address);
    const index = this.watches.findIndex((w) => w.kind === kind && w.address === lin && w.length === length);
    if (index < 0) throw new DebugError('NOT_FOUND', `no watchpoint of ${length} bytes at ${lin.toString(16)}`);
    this.watches.splice(index, 1);
    this.syncWatchPages();
    this.updateHook();
  }

  /**
   * Brings the MMU's watched pages in line with the read and access watches (changed pages lose their
   * translation, so the next access refills with the new slow bits) and sets the CPU's access report.
   */
  private syncWatchPages(): void {
    const wanted = new Map<number, number>();
    for (const w of this.watches) {
      if (w.kind === WireWatchKind.WRITE) continue;
      const bits = w.kind === WireWatchKind.READ ? WatchPage.READ : WatchPage.READ | WatchPage.WRITE;
      const last = (w.address + w.length - 1) >>> 12;
      for (let page = w.address >>> 12; page <= last; page++) wanted.set(page, (wanted.get(page) ?? 0) | bits);
    }
    const mmu = this.machine.cpu.mmu;
    for (const page of this.watchPageBits.keys()) if (!wanted.has(page)) mmu.setWatchPage(page, 0);
    for (const [page, bits] of wanted) if (this.watchPageBits.get(page) !== bits) mmu.setWatchPage(page, bits);
    this.watchPageBits.clear();
    for (const [page, bits] of wanted) this.watchPageBits.set(page, bits);
    this.machine.cpu.onWatchedAccess = wanted.size > 0 ? this.watchedAccess : undefined;
  }

  /** A read or write on a watched page: a hit on a read or access watch stops after this instruction. */
  private onAccess(lin: number, size: number, write: boolean): void {
    if (this.trap !== Trap.NONE) return;
    const start = lin >>> 0;
    const end = start + size;
    for (const w of this.watches) {
      if (w.kind === WireWatchKind.WRITE || (write && w.kind === WireWatchKind.READ)) continue;
      if (start < w.address + w.length && end > w.address) {
        this.trap = Trap.WATCHPOINT;
        this.trapWatch = w;
        // The instruction completes (its block ends after it), then the run loop reports the trap.
        this.machine.engine.stop();
        return;
      }
    }
  }

  /** Unmapped bytes read as absent, so mapping or unmapping the page counts as a change too. */
  private watchedBytes(address: number, length: number): Uint8Array {
    return readDebugMemory(this.machine.cpu, address, length, true);
  }

  private resnapshotWatches(): void {
    for (const w of this.watches) w.last = this.watchedBytes(w.address, w.length);
  }

  // ---- the block source hook -------------------------------------------------------------------

  private updateHook(): void {
    const wanted = this.breakpoints.size > 0 || this.watches.length > 0 || this.stepsLeft >= 0;
    // Whenever what the hook looks for changes (also while the guest runs): blocks the engine chained,
    // jump-cached or runs on to inside a region would otherwise run without passing the hook.
    this.machine.engine.lookupEveryBlock(wanted);
    if (wanted === this.installed) return;
    const source = this.inner as { lookup: BlockSource['lookup'] };
    // An own property shadows the class method while the debugger needs instruction boundaries; it
    // is set back to the class method (not deleted, which would slow every later lookup).
    source.lookup = wanted
      ? (phys, bits, ip, maxBytes) => this.lookup(this.innerLookup.call(this.inner, phys, bits, ip, maxBytes), ip)
      : this.innerLookup;
    this.installed = wanted;
  }

  private trapAt(ip: number, trap: Trap): Block {
    this.trap = trap;
    const block = this.trapBlock;
    block.startIp = ip | 0;
    (block.instructions[0] as Instruction).ip = ip >>> 0;
    return block;
  }

  private lookup(block: Block, ip: number): Block {
    const cpu = this.machine.cpu;
    const csBase = cpu.segBase[Seg.CS];
    const lin = (csBase + ip) >>> 0;
    const skip = this.skipLinear === lin;
    this.skipLinear = -1;
    // An access hit is reported before the next instruction, whatever else is pending.
    if (this.trap === Trap.WATCHPOINT) return this.trapAt(ip, Trap.WATCHPOINT);
    if (this.watches.length > 0) {
      for (const w of this.watches) {
        if (w.kind !== WireWatchKind.WRITE) continue;
        const now = this.watchedBytes(w.address, w.length);
        if (!sameBytes(now, w.last)) {
          w.last = now;
          this.trapWatch = w;
          return this.trapAt(ip, Trap.WATCHPOINT);
        }
      }
    }
    if (this.stepsLeft === 0) return this.trapAt(ip, Trap.STEP);
    if (!skip && this.breakpoints.has(lin)) {
      this.trapAddress = lin;
      this.trapKind = firstKind(this.breakpoints.get(lin));
      return this.trapAt(ip, Trap.BREAKPOINT);
    }
    let limit = block.count;
    // Steps and write watches need this lookup before every instruction, so what it returns must not
    // be chained or jump-cached by the engine (either would run it again without asking here).
    const everyInstruction = this.stepsLeft >= 0 || this.watches.length > 0;
    if (this.stepsLeft > 0) {
      this.stepsLeft--;
      if (limit > 1) limit = 1;
    } else if (this.watches.length > 0 && limit > 1) {
      limit = 1;
    }
    if (this.breakpoints.size > 0 && limit > 1) {
      const mask = cpu.codeBits === 16 ? 0xffff : -1;
      const delta = ip - block.startIp;
      for (let i = 1; i < limit; i++) {
        const at = (csBase + ((block.instructions[i].ip + delta) & mask)) >>> 0;
        if (this.breakpoints.has(at)) {
          limit = i;
          break;
        }
      }
    }
    // The block at a breakpoint being run past must come through here again, or a block the engine
    // cached there would run straight over the breakpoint the next time (SBE marks cannot rule that
    // out: the address may have mapped to another page when the breakpoint was set).
    const uncached = everyInstruction || (skip && this.breakpoints.has(lin));
    if (limit === block.count && !uncached) return block;
    return shortened(block, limit, uncached);
  }

  // ---- execution -------------------------------------------------------------------------------

  private makeStop(reason: WireStopReason, detail: WireStopEvent['detail']): WireStopEvent {
    const cpu = this.machine.cpu;
    this.sequence++;
    const stop: WireStopEvent = {
      sequence: this.sequence,
      reason,
      address: BigInt((cpu.segBase[Seg.CS] + cpu.eip) >>> 0),
      signal: reason === WireStopReason.HALT_REQUEST ? GDB_SIGINT : reason === WireStopReason.EXITED ? 0 : GDB_SIGTRAP,
      instructionsRetired: BigInt(cpu.executed),
      detail,
    };
    this.lastStop = stop;
    return stop;
  }

  private publish(stop: WireStopEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(stop);
      } catch {
        // A failing listener (a closed bus) must not stop the machine's bookkeeping.
      }
    }
  }

  /** Takes the VM: it stops where it is (a no-op stop when it is already halted). */
  async halt(): Promise<WireStopEvent> {
    if (this.state === 'halted' || this.state === 'exited') {
      return this.lastStop ?? this.stopHere(WireStopReason.HALT_REQUEST, undefined);
    }
    if (this.state === 'detached') {
      // The VM's owner must not run the machine while a debugger holds it; see the module comment.
      this.machine.engine.stop();
      this.state = 'halted';
      // The run loop may be asleep waiting for a timer or device; it must see the hold now.
      this.machine.wake();
      return this.stopHere(WireStopReason.HALT_REQUEST, undefined);
    }
    const stopped = new Promise<WireStopEvent>((resolve) => this.stopWaiters.push(resolve));
    this.haltRequested = true;
    this.machine.engine.stop();
    return stopped;
  }

  private stopHere(reason: WireStopReason, detail: WireStopEvent['detail']): WireStopEvent {
    const stop = this.makeStop(reason, detail);
    this.publish(stop);
    return stop;
  }

  /** Executes `count` instructions (1 for 0) and resolves with the stop that ends the step. */
  async step(count: number): Promise<WireStopEvent> {
    this.requireHalted('StepInstructions');
    if (count > MAX_STEP) throw new DebugError('BAD_REQUEST', `step count ${count} is above ${MAX_STEP}`);
    this.stepsLeft = count === 0 ? 1 : count;
    const stopped = new Promise<WireStopEvent>((resolve) => this.stopWaiters.push(resolve));
    this.start();
    return stopped;
  }

  /** Lets the guest run until a breakpoint, watchpoint, halt request or exit. */
  continue(): void {
    this.requireHalted('ContinueExecution');
    this.start();
  }

  private start(): void {
    const cpu = this.machine.cpu;
    // The instruction at a breakpoint we are stopped on runs once before the breakpoint counts again.
    this.skipLinear = (cpu.segBase[Seg.CS] + cpu.eip) >>> 0;
    this.state = 'running';
    this.haltRequested = false;
    this.trap = Trap.NONE;
    this.updateHook();
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    const machine = this.machine;
    const engine = machine.engine;
    let stop: WireStopEvent;
    for (;;) {
      let reason: EngineStop;
      try {
        // The machine's run-loop step, so timers fire and an idle guest skips to its next event.
        reason = machine.runSlice(this.slice);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        stop = this.exitStop(WireExitReason.ENGINE_ERROR, `engine error: ${message}`);
        break;
      }
      if (this.trap !== Trap.NONE) {
        stop = this.trapStop();
        break;
      }
      if (reason === EngineStop.HALTED && machine.workInFlight > 0 && machine.cpu.interruptsEnabled) {
        // A device completion will wake the CPU: wait for it in host time (a halt request still ends it).
        machine.onSlice?.();
        await new Promise<void>((resolve) => setTimeout(resolve, HALTED_POLL_MS));
        if (this.haltRequested) {
          stop = this.makeStop(WireStopReason.HALT_REQUEST, undefined);
          break;
        }
        continue;
      }
      if (reason === EngineStop.HALTED) {
        stop = this.exitStop(WireExitReason.GUEST_SHUTDOWN, 'the CPU halted with nothing to wake it');
        break;
      }
      if (reason === EngineStop.SHUTDOWN) {
        stop = this.exitStop(WireExitReason.TRIPLE_FAULT, engine.shutdownMessage);
        break;
      }
      if (this.haltRequested) {
        stop = this.makeStop(WireStopReason.HALT_REQUEST, undefined);
        break;
      }
      if (reason === EngineStop.STOPPED) {
        // Nobody here asked for it: a device ended the run (the exit port).
        stop = this.exitStop(WireExitReason.GUEST_SHUTDOWN, 'the guest ended the run');
        break;
      }
      // Device output (the serial console) flows while the debugger runs the guest, as in the run loop.
      machine.onSlice?.();
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.haltRequested) {
        stop = this.makeStop(WireStopReason.HALT_REQUEST, undefined);
        break;
      }
    }
    this.stepsLeft = -1;
    this.trap = Trap.NONE;
    this.haltRequested = false;
    this.updateHook();
    machine.onSlice?.();
    if (this.state === 'running') this.state = stop.reason === WireStopReason.EXITED ? 'exited' : 'halted';
    this.running = undefined;
    const waiters = this.stopWaiters;
    this.stopWaiters = [];
    this.publish(stop);
    for (const w of waiters) w(stop);
  }

  private trapStop(): WireStopEvent {
    switch (this.trap) {
      case Trap.BREAKPOINT:
        return this.makeStop(WireStopReason.BREAKPOINT, {
          $case: 'breakpoint',
          value: { kind: this.trapKind, address: BigInt(this.trapAddress) },
        });
      case Trap.WATCHPOINT: {
        const w = this.trapWatch as Watch;
        return this.makeStop(WireStopReason.WATCHPOINT, {
          $case: 'watchpoint',
          value: { kind: w.kind, address: BigInt(w.address), length: w.length },
        });
      }
      default:
        return this.makeStop(WireStopReason.STEP, undefined);
    }
  }

  private exitStop(reason: WireExitReason, message: string): WireStopEvent {
    const cpu = this.machine.cpu;
    return this.makeStop(WireStopReason.EXITED, {
      $case: 'exit',
      value: { reason, message, instructionAddress: BigInt((cpu.segBase[Seg.CS] + cpu.insEip) >>> 0) },
    });
  }

  /** Drops every breakpoint and watchpoint and hands the VM back to its owner. */
  async detach(resume: boolean): Promise<void> {
    if (this.state === 'running') await this.halt();
    await this.running;
    for (const lin of [...this.marks.keys()]) this.unmark(lin);
    this.breakpoints.clear();
    this.watches.length = 0;
    this.syncWatchPages();
    this.stepsLeft = -1;
    this.updateHook();
    const exited = this.state === 'exited';
    if (!exited) this.state = 'detached';
    this.options.onDetach?.(resume && !exited);
    const waiters = this.releaseWaiters;
    this.releaseWaiters = [];
    for (const w of waiters) w(resume && !exited);
  }
}

/**
 * A copy of `block` that ends after `count` records; only while debugging, so the allocation stays off
 * normal runs. It has no whole-block function, so nothing compiled for the full block runs in its place,
 * and no packed form, so the run loop calls its own routine list and compiles nothing for it. An
 * `uncached` copy has no cache slot, which keeps the engine from chaining or jump-caching it.
 */
function shortened(block: Block, count: number, uncached: boolean): Block {
  const view = Object.create(block) as Block;
  view.count = count;
  view.routines = (block.routines as unknown[]).slice(0, count);
  view.packedAt = -1;
  view.compiled = null;
  view.hits = 0;
  if (uncached) view.slot = -1;
  return view;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function firstKind(kinds: Set<WireBreakpointKind> | undefined): WireBreakpointKind {
  if (kinds === undefined) return WireBreakpointKind.SOFTWARE;
  return kinds.has(WireBreakpointKind.SOFTWARE) ? WireBreakpointKind.SOFTWARE : WireBreakpointKind.HARDWARE;
}
