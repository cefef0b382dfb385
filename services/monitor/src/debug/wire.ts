/**
 * The shapes of the plex86.v1 DebugService messages (proto/plex86/v1/debug.proto and cpu.proto) as
 * the monitor fills them. They are structural twins of the generated @plex86/proto types, so the
 * handlers can be served with serveMethods(DebugServiceDefinition) where the bus is wired, while the
 * monitor's engine code stays free of the bus. Enum values are the proto numbers.
 */

export const enum WireStopReason {
  BREAKPOINT = 1,
  WATCHPOINT = 2,
  STEP = 3,
  HALT_REQUEST = 4,
  EXITED = 5,
}

export const enum WireBreakpointKind {
  SOFTWARE = 1,
  HARDWARE = 2,
}

export const enum WireWatchKind {
  WRITE = 1,
  READ = 2,
  ACCESS = 3,
}

export const enum WireAddressSpace {
  LINEAR = 1,
  PHYSICAL = 2,
}

export const enum WireExitReason {
  STOP_REQUEST = 1,
  GUEST_SHUTDOWN = 2,
  TRIPLE_FAULT = 3,
  ENGINE_ERROR = 4,
}

export interface WireSegmentRegister {
  selector: number;
  base: number;
  limit: number;
  attributes: number;
}

export interface WireDescriptorTable {
  base: number;
  limit: number;
}

export interface WireX87State {
  control: number;
  status: number;
  tag: number;
  lastOpcode: number;
  instructionOffset: number;
  instructionSelector: number;
  operandOffset: number;
  operandSelector: number;
  st: Uint8Array[];
}

export interface WireSseState {
  xmm: Uint8Array[];
  mxcsr: number;
}

export interface WireCpuRegisters {
  eax: number;
  ecx: number;
  edx: number;
  ebx: number;
  esp: number;
  ebp: number;
  esi: number;
  edi: number;
  eip: number;
  eflags: number;
  cs: WireSegmentRegister | undefined;
  ss: WireSegmentRegister | undefined;
  ds: WireSegmentRegister | undefined;
  es: WireSegmentRegister | undefined;
  fs: WireSegmentRegister | undefined;
  gs: WireSegmentRegister | undefined;
  ldtr: WireSegmentRegister | undefined;
  tr: WireSegmentRegister | undefined;
  gdtr: WireDescriptorTable | undefined;
  idtr: WireDescriptorTable | undefined;
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  dr0: number;
  dr1: number;
  dr2: number;
  dr3: number;
  dr6: number;
  dr7: number;
  x87: WireX87State | undefined;
  sse: WireSseState | undefined;
}

export interface WireVmExit {
  reason: number;
  message: string;
  instructionAddress: bigint;
}

export interface WireStopEvent {
  sequence: bigint;
  reason: number;
  address: bigint;
  signal: number;
  instructionsRetired: bigint;
  detail:
    | { $case: 'breakpoint'; value: { kind: number; address: bigint } }
    | { $case: 'watchpoint'; value: { kind: number; address: bigint; length: number } }
    | { $case: 'exit'; value: WireVmExit }
    | undefined;
}

export interface WireDebugStatus {
  halted: boolean;
  lastStop: WireStopEvent | undefined;
  breakpointCount: number;
  watchpointCount: number;
}
