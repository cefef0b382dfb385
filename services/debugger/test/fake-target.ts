import {
  BreakpointKind,
  StopReason,
  WatchKind,
  type CpuRegisters,
  type GetDebugStatusResponse,
  type StopEvent,
} from '@plex86/proto';
import { TargetUnsupportedError, type DebugTarget, type MonitorCapabilities } from '../src/target.js';

/** Mapped linear memory of the fake: [0, MEMORY_SIZE); anything above faults. */
export const MEMORY_SIZE = 0x2000;

export function sampleRegisters(): CpuRegisters {
  const seg = (selector: number) => ({ selector, base: 0, limit: 0xffffffff, attributes: 0xc093 });
  return {
    eax: 0x11223344,
    ecx: 2,
    edx: 3,
    ebx: 4,
    esp: 0x1ff0,
    ebp: 0,
    esi: 6,
    edi: 7,
    eip: 0x100,
    eflags: 0x202,
    cs: { ...seg(0x08), attributes: 0xc09b },
    ss: seg(0x10),
    ds: seg(0x10),
    es: seg(0x10),
    fs: seg(0x10),
    gs: seg(0x18),
    ldtr: undefined,
    tr: undefined,
    gdtr: undefined,
    idtr: undefined,
    cr0: 0x11,
    cr2: 0,
    cr3: 0x9000,
    cr4: 0,
    dr0: 0,
    dr1: 0,
    dr2: 0,
    dr3: 0,
    dr6: 0,
    dr7: 0,
    x87: {
      control: 0x37f,
      status: 0x3800,
      tag: 0x3fff,
      lastOpcode: 0x1e8,
      instructionOffset: 0x1234,
      instructionSelector: 0x08,
      operandOffset: 0x5678,
      operandSelector: 0x10,
      // 1.0 in extended precision: exponent 0x3fff, integer bit set.
      st: [new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f])],
    },
    sse: undefined,
  };
}

/**
 * A DebugTarget in memory for unit tests of the protocol layer: it records every call, steps by
 * advancing EIP by one, and stops when a test calls `stopNow`.
 */
export class FakeTarget implements DebugTarget {
  registers = sampleRegisters();
  readonly memory = new Uint8Array(MEMORY_SIZE);
  halted = true;
  readonly calls: string[] = [];
  readonly breakpoints = new Set<string>();
  readonly watchpoints = new Set<string>();
  /** Watch kinds refused as unsupported. */
  readonly unsupportedWatchKinds = new Set<WatchKind>();
  /** Makes the next call of this method throw. */
  failNext = '';
  private sequence = 0n;
  private last: StopEvent | undefined;
  private readonly listeners = new Set<(stop: StopEvent) => void>();
  monitor: MonitorCapabilities | undefined = {
    readPhysical: async (address, length) => this.memory.slice(address, Math.min(MEMORY_SIZE, address + length)),
    sbePage: async (address) => {
      if (address >= MEMORY_SIZE) return { physicalPage: -1, attributes: new Uint8Array(0) };
      const attributes = new Uint8Array(4096);
      attributes[0x10] = 0x81;
      attributes[0x11] = 0x02;
      return { physicalPage: (address & ~0xfff) + 0x100000, attributes };
    },
    saveSnapshot: async (path) => {
      this.calls.push(`snapshot ${path}`);
    },
    stats: async () => [['blocks', '42']],
  };

  private check(name: string): void {
    this.calls.push(name);
    if (this.failNext === name) {
      this.failNext = '';
      throw new Error(`${name} failed on purpose`);
    }
  }

  /** Builds the next stop event and makes it the last one. */
  makeStop(reason: StopReason, detail?: StopEvent['detail']): StopEvent {
    this.sequence++;
    const stop: StopEvent = {
      sequence: this.sequence,
      reason,
      address: BigInt(this.registers.eip),
      signal: reason === StopReason.STOP_REASON_HALT_REQUEST ? 2 : reason === StopReason.STOP_REASON_EXITED ? 0 : 5,
      instructionsRetired: 1000n + this.sequence,
      detail,
    };
    this.last = stop;
    this.halted = true;
    return stop;
  }

  /** Stops a running target and publishes the stop, as the monitor would. */
  stopNow(reason: StopReason, detail?: StopEvent['detail']): StopEvent {
    const stop = this.makeStop(reason, detail);
    for (const listener of this.listeners) listener(stop);
    return stop;
  }

  async readRegisters(): Promise<CpuRegisters> {
    this.check('readRegisters');
    return structuredClone(this.registers);
  }
  async writeRegisters(registers: CpuRegisters): Promise<void> {
    this.check('writeRegisters');
    this.registers = structuredClone(registers);
  }
  async readMemory(address: number, length: number): Promise<Uint8Array> {
    this.check('readMemory');
    return this.memory.slice(Math.min(address, MEMORY_SIZE), Math.min(MEMORY_SIZE, address + length));
  }
  async writeMemory(address: number, data: Uint8Array): Promise<number> {
    this.check('writeMemory');
    const n = Math.max(0, Math.min(data.length, MEMORY_SIZE - address));
    this.memory.set(data.subarray(0, n), address);
    return n;
  }
  async insertBreakpoint(kind: BreakpointKind, address: number): Promise<void> {
    this.check('insertBreakpoint');
    this.breakpoints.add(`${kind}:${address.toString(16)}`);
  }
  async removeBreakpoint(kind: BreakpointKind, address: number): Promise<void> {
    this.check('removeBreakpoint');
    if (!this.breakpoints.delete(`${kind}:${address.toString(16)}`)) throw new Error('no such breakpoint');
  }
  async insertWatchpoint(kind: WatchKind, address: number, length: number): Promise<void> {
    this.check('insertWatchpoint');
    if (this.unsupportedWatchKinds.has(kind)) throw new TargetUnsupportedError(`watch kind ${kind} is not supported`);
    this.watchpoints.add(`${kind}:${address.toString(16)}:${length}`);
  }
  async removeWatchpoint(kind: WatchKind, address: number, length: number): Promise<void> {
    this.check('removeWatchpoint');
    if (!this.watchpoints.delete(`${kind}:${address.toString(16)}:${length}`)) throw new Error('no such watchpoint');
  }
  async step(): Promise<StopEvent> {
    this.check('step');
    this.registers.eip += 1;
    return this.makeStop(StopReason.STOP_REASON_STEP);
  }
  async resume(): Promise<void> {
    this.check('resume');
    this.halted = false;
  }
  async halt(): Promise<StopEvent> {
    this.check('halt');
    if (this.halted && this.last !== undefined) return this.last;
    return this.stopNow(StopReason.STOP_REASON_HALT_REQUEST);
  }
  async status(): Promise<GetDebugStatusResponse> {
    this.check('status');
    return {
      halted: this.halted,
      lastStop: this.last,
      breakpointCount: this.breakpoints.size,
      watchpointCount: this.watchpoints.size,
    };
  }
  async detach(resume: boolean): Promise<void> {
    this.check(`detach ${resume}`);
    this.breakpoints.clear();
    this.watchpoints.clear();
    this.halted = !resume;
  }
  async kill(): Promise<void> {
    this.check('kill');
  }
  onStop(listener: (stop: StopEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export { BreakpointKind, WatchKind };
