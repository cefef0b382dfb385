import type { BreakpointKind, CpuRegisters, GetDebugStatusResponse, StopEvent, WatchKind } from '@plex86/proto';

/**
 * What the protocol server debugs: one VM's CPU, halted or running. Every method is async so a
 * target can live behind the bus; a failure is thrown and becomes an error reply. Addresses are
 * linear (through the guest's paging), as the stop events and breakpoints use them.
 */
export interface DebugTarget {
  /** Only while halted. */
  readRegisters(): Promise<CpuRegisters>;
  /** The whole register file; a changed selector reloads its segment. Only while halted. */
  writeRegisters(registers: CpuRegisters): Promise<void>;
  /** Up to `length` bytes from a linear address; fewer when a page is not mapped, none if the first is not. */
  readMemory(address: number, length: number): Promise<Uint8Array>;
  /** Bytes written; fewer than given when a page is not mapped. */
  writeMemory(address: number, data: Uint8Array): Promise<number>;
  insertBreakpoint(kind: BreakpointKind, address: number): Promise<void>;
  removeBreakpoint(kind: BreakpointKind, address: number): Promise<void>;
  insertWatchpoint(kind: WatchKind, address: number, length: number): Promise<void>;
  removeWatchpoint(kind: WatchKind, address: number, length: number): Promise<void>;
  /** Executes one instruction and resolves with the stop that ends it. */
  step(): Promise<StopEvent>;
  /** Lets the CPU run; the next stop is delivered to the `onStop` listeners. */
  resume(): Promise<void>;
  /** Stops at the next instruction boundary (or repeats the last stop when halted). */
  halt(): Promise<StopEvent>;
  status(): Promise<GetDebugStatusResponse>;
  /** Removes every breakpoint and watchpoint and leaves the VM running (`resume`) or paused. */
  detach(resume: boolean): Promise<void>;
  /** Ends the VM. */
  kill(): Promise<void>;
  /** Registers a listener for stop events; returns the function that removes it. */
  onStop(listener: (stop: StopEvent) => void): () => void;
  /** What `monitor` commands can reach beyond the debug interface; absent ones are reported as such. */
  readonly monitor?: MonitorCapabilities;
}

/** Thrown by a target for a request kind it does not support (the protocol answers "unsupported"). */
export class TargetUnsupportedError extends Error {
  override readonly name = 'TargetUnsupportedError';
}

/** The attribute page the SBE scanner keeps for one guest code page. */
export interface SbePageView {
  /** Physical address of the page; negative when the linear address is not mapped. */
  readonly physicalPage: number;
  /** One attribute byte per byte of the page; empty when the page has not been scanned. */
  readonly attributes: Uint8Array;
}

/** Optional capabilities behind `monitor` commands. */
export interface MonitorCapabilities {
  /** Up to `length` bytes of guest-physical memory; fewer past the end of RAM. */
  readPhysical?(address: number, length: number): Promise<Uint8Array>;
  /** The attribute page of the page holding a linear address. */
  sbePage?(address: number): Promise<SbePageView>;
  /** Saves a snapshot of the VM to a file on the monitor's host. */
  saveSnapshot?(path: string): Promise<void>;
  /** Extra `name value` lines for `monitor stats`. */
  stats?(): Promise<readonly (readonly [string, string])[]>;
}
