/**
 * DebugService (proto/plex86/v1/debug.proto) over a MachineDebugger: one handler per method, in the
 * shape serveMethods expects for DebugServiceDefinition, so the bus wiring is
 *
 *   serveMethods(bus, config, `plex86.${vm}.debug`, DebugServiceDefinition,
 *     debugServiceHandlers(dbg, (e) => new BusError(ErrorCode[`ERROR_CODE_${e.code}`], '', e.message)));
 *   dbg.onStop((stop) => bus.publish(vmSubject(vm, 'debug', DEBUG_STOP_SUBJECT), StopEvent.encode(stop).finish()));
 */

import { DebugError, type MachineDebugger } from './machine-debugger.js';
import type { WireCpuRegisters, WireDebugStatus, WireStopEvent } from './wire.js';

/** The last subject token of stop events: plex86.<vm>.debug.stopped. */
export const DEBUG_STOP_SUBJECT = 'stopped';

interface RequestId {
  requestId: string;
}

export interface DebugServiceHandlers {
  readRegisters(request: RequestId): Promise<{ registers: WireCpuRegisters }>;
  writeRegisters(request: RequestId & { registers: WireCpuRegisters | undefined }): Promise<object>;
  readMemory(request: RequestId & { space: number; address: bigint; length: number }): Promise<{ data: Uint8Array }>;
  writeMemory(
    request: RequestId & { space: number; address: bigint; data: Uint8Array },
  ): Promise<{ writtenBytes: number }>;
  insertBreakpoint(request: RequestId & { kind: number; address: bigint }): Promise<object>;
  removeBreakpoint(request: RequestId & { kind: number; address: bigint }): Promise<object>;
  insertWatchpoint(request: RequestId & { kind: number; address: bigint; length: number }): Promise<object>;
  removeWatchpoint(request: RequestId & { kind: number; address: bigint; length: number }): Promise<object>;
  stepInstructions(request: RequestId & { count: number }): Promise<{ stop: WireStopEvent }>;
  continueExecution(request: RequestId): Promise<object>;
  haltExecution(request: RequestId): Promise<{ stop: WireStopEvent }>;
  detachDebugger(request: RequestId & { resume: boolean }): Promise<object>;
  getDebugStatus(request: RequestId): Promise<WireDebugStatus>;
  getSbePage(request: RequestId & { address: bigint }): Promise<{ physicalPage: bigint; attributes: Uint8Array }>;
}

function sbePage(dbg: MachineDebugger, address: bigint): { physicalPage: bigint; attributes: Uint8Array } {
  if (address > 0xffffffffn) {
    throw new DebugError('BAD_REQUEST', `linear address ${address.toString(16)} is outside the 4 GiB linear space`);
  }
  const page = dbg.sbePage(Number(address));
  if (page.physicalPage < 0) {
    // Worded as the debugger's `monitor sbe` says it (it turns NOT_FOUND into its own answer).
    throw new DebugError('NOT_FOUND', `linear address ${address.toString(16).padStart(8, '0')} is not mapped`);
  }
  return { physicalPage: BigInt(page.physicalPage), attributes: page.attributes };
}

/**
 * The handlers; `toError` turns a refusal into what the transport sends back (a BusError with the
 * matching code where the bus is wired). Other exceptions pass through as internal errors.
 */
export function debugServiceHandlers(
  dbg: MachineDebugger,
  toError: (error: DebugError) => Error = (error) => error,
): DebugServiceHandlers {
  const guard = async <T>(fn: () => T | Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof DebugError) throw toError(e);
      throw e;
    }
  };
  return {
    readRegisters: () => guard(() => ({ registers: dbg.readRegisters() })),
    writeRegisters: (r) => guard(() => (dbg.writeRegisters(r.registers), {})),
    readMemory: (r) => guard(() => ({ data: dbg.readMemory(r.space, r.address, r.length) })),
    writeMemory: (r) => guard(() => ({ writtenBytes: dbg.writeMemory(r.space, r.address, r.data) })),
    insertBreakpoint: (r) => guard(() => (dbg.insertBreakpoint(r.kind, r.address), {})),
    removeBreakpoint: (r) => guard(() => (dbg.removeBreakpoint(r.kind, r.address), {})),
    insertWatchpoint: (r) => guard(() => (dbg.insertWatchpoint(r.kind, r.address, r.length), {})),
    removeWatchpoint: (r) => guard(() => (dbg.removeWatchpoint(r.kind, r.address, r.length), {})),
    stepInstructions: (r) => guard(async () => ({ stop: await dbg.step(r.count) })),
    continueExecution: () => guard(() => (dbg.continue(), {})),
    haltExecution: () => guard(async () => ({ stop: await dbg.halt() })),
    detachDebugger: (r) => guard(async () => (await dbg.detach(r.resume), {})),
    getDebugStatus: () => guard(() => dbg.status()),
    getSbePage: (r) => guard(() => sbePage(dbg, r.address)),
  };
}
