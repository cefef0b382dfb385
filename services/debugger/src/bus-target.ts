/**
 * A DebugTarget backed by a VM's monitor over the bus: DebugService on plex86.<vm>.debug.<method>
 * (also for `monitor phys` and `monitor sbe`), stop events from plex86.<vm>.debug.stopped,
 * VmControlService for kill and stats, and SnapshotService for `monitor snapshot save`.
 */

import { randomUUID } from 'node:crypto';
import {
  BusError,
  SUBJECT_ROOT,
  validateSubject,
  vmSubject,
  methodClient,
  type Bus,
  type CallOptions,
} from '@plex86/bus';
import {
  AddressSpace,
  DebugServiceDefinition,
  ErrorCode,
  SnapshotServiceDefinition,
  StopEvent,
  VmControlServiceDefinition,
  vmStateToJSON,
  type BreakpointKind,
  type VmStatus,
  type WatchKind,
} from '@plex86/proto';
import { TargetUnsupportedError, type DebugTarget, type MonitorCapabilities } from './target.js';

export interface BusDebugTargetOptions {
  /** Per-request timeout; steps and halts may take a moment on a busy host. */
  readonly timeoutMs?: number;
  /** One line per stop event that does not decode. */
  readonly log?: (line: string) => void;
  /**
   * Monitor commands served without the bus, e.g. by `plex86 run` in one process, where the
   * machine's counters and snapshots are at hand; they take precedence over the bus-backed ones.
   */
  readonly monitor?: MonitorCapabilities;
}

export interface BusDebugTarget extends DebugTarget {
  /** Stops listening for stop events. */
  close(): void;
}

/** A monitor that cannot do a kind of breakpoint or watchpoint says UNIMPLEMENTED. */
async function unsupportedIfUnimplemented(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (err instanceof BusError && err.code === ErrorCode.ERROR_CODE_UNIMPLEMENTED) {
      throw new TargetUnsupportedError(err.message);
    }
    throw err;
  }
}

/** The monitor writes the whole of RAM; a large guest takes a while. */
const SNAPSHOT_TIMEOUT_MS = 300_000;

/** Largest ReadMemory/WriteMemory the wire contract allows. */
const MEMORY_LIMIT = 0x10000;

export function busDebugTarget(bus: Bus, vmId: string, options: BusDebugTargetOptions = {}): BusDebugTarget {
  const debugPrefix = `${SUBJECT_ROOT}.${vmId}.debug`;
  const controlPrefix = `${SUBJECT_ROOT}.${vmId}.control`;
  validateSubject(debugPrefix, 'send');
  const debug = methodClient(bus, debugPrefix, DebugServiceDefinition);
  const control = methodClient(bus, controlPrefix, VmControlServiceDefinition);
  const snapshots = methodClient(bus, `${SUBJECT_ROOT}.${vmId}.snapshot`, SnapshotServiceDefinition);
  const call: CallOptions = { timeoutMs: options.timeoutMs };
  const log = options.log ?? (() => undefined);
  const idBase = randomUUID();
  let counter = 0;
  const requestId = () => `${idBase}-${++counter}`;

  const listeners = new Set<(stop: StopEvent) => void>();
  const subscription = bus.subscribe(vmSubject(vmId, 'debug', 'stopped'), (message) => {
    let stop: StopEvent;
    try {
      stop = StopEvent.decode(message.data);
    } catch (err) {
      log(`undecodable stop event on ${message.subject}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    for (const listener of listeners) listener(stop);
  });

  const readMemory = async (space: AddressSpace, address: number, length: number) => {
    const reply = await debug.readMemory(
      { requestId: requestId(), space, address: BigInt(address), length: Math.min(length, MEMORY_LIMIT) },
      call,
    );
    return reply.data;
  };

  const monitor: MonitorCapabilities = {
    ...options.monitor,
    readPhysical:
      options.monitor?.readPhysical ??
      ((address, length) => readMemory(AddressSpace.ADDRESS_SPACE_PHYSICAL, address, length)),
    sbePage:
      options.monitor?.sbePage ??
      (async (address) => {
        try {
          const reply = await debug.getSbePage({ requestId: requestId(), address: BigInt(address) }, call);
          return { physicalPage: Number(reply.physicalPage), attributes: reply.attributes };
        } catch (err) {
          // The one NOT_FOUND of GetSbePage: the address is not mapped, which the view says by itself.
          if (err instanceof BusError && err.code === ErrorCode.ERROR_CODE_NOT_FOUND) {
            return { physicalPage: -1, attributes: new Uint8Array(0) };
          }
          throw err;
        }
      }),
    saveSnapshot:
      options.monitor?.saveSnapshot ??
      (async (path) => {
        // The path is on the monitor's host, which wants it absolute.
        await snapshots.saveSnapshot({ requestId: requestId(), path, stop: false }, { timeoutMs: SNAPSHOT_TIMEOUT_MS });
      }),
    stats: async () => {
      const extra = (await options.monitor?.stats?.()) ?? [];
      let status: VmStatus | undefined;
      try {
        ({ status } = await control.getVmStatus({ requestId: requestId() }, call));
      } catch (err) {
        // The debugger's own figures still count when the VM's control service does not answer.
        return [...extra, ['vm status', `unavailable: ${err instanceof Error ? err.message : String(err)}`]];
      }
      if (status === undefined) return extra;
      return [
        ...extra,
        ['vm', status.vmId],
        ['vm state', vmStateToJSON(status.state)],
        ['vm instructions', String(status.instructionsRetired)],
        ['virtual time', `${Number(status.virtualTimeNs) / 1e9} s`],
      ];
    },
  };

  return {
    monitor,
    async readRegisters() {
      const reply = await debug.readRegisters({ requestId: requestId() }, call);
      if (reply.registers === undefined) throw new Error('the monitor sent no registers');
      return reply.registers;
    },
    async writeRegisters(registers) {
      await debug.writeRegisters({ requestId: requestId(), registers }, call);
    },
    readMemory: (address, length) => readMemory(AddressSpace.ADDRESS_SPACE_LINEAR, address, length),
    async writeMemory(address, data) {
      const reply = await debug.writeMemory(
        {
          requestId: requestId(),
          space: AddressSpace.ADDRESS_SPACE_LINEAR,
          address: BigInt(address),
          data: data.subarray(0, MEMORY_LIMIT),
        },
        call,
      );
      return reply.writtenBytes;
    },
    async insertBreakpoint(kind: BreakpointKind, address: number) {
      await unsupportedIfUnimplemented(
        debug.insertBreakpoint({ requestId: requestId(), kind, address: BigInt(address) }, call),
      );
    },
    async removeBreakpoint(kind: BreakpointKind, address: number) {
      await unsupportedIfUnimplemented(
        debug.removeBreakpoint({ requestId: requestId(), kind, address: BigInt(address) }, call),
      );
    },
    async insertWatchpoint(kind: WatchKind, address: number, length: number) {
      await unsupportedIfUnimplemented(
        debug.insertWatchpoint({ requestId: requestId(), kind, address: BigInt(address), length }, call),
      );
    },
    async removeWatchpoint(kind: WatchKind, address: number, length: number) {
      await unsupportedIfUnimplemented(
        debug.removeWatchpoint({ requestId: requestId(), kind, address: BigInt(address), length }, call),
      );
    },
    async step() {
      const reply = await debug.stepInstructions({ requestId: requestId(), count: 1 }, call);
      if (reply.stop === undefined) throw new Error('the monitor sent no stop event for the step');
      return reply.stop;
    },
    async resume() {
      await debug.continueExecution({ requestId: requestId() }, call);
    },
    async halt() {
      const reply = await debug.haltExecution({ requestId: requestId() }, call);
      if (reply.stop === undefined) throw new Error('the monitor sent no stop event for the halt');
      return reply.stop;
    },
    status: () => debug.getDebugStatus({ requestId: requestId() }, call),
    async detach(resume) {
      await debug.detachDebugger({ requestId: requestId(), resume }, call);
    },
    async kill() {
      await debug.detachDebugger({ requestId: requestId(), resume: false }, call);
      try {
        await control.stopVm({ requestId: requestId() }, call);
      } catch (err) {
        // Without a control service the VM's owner holds it (plex86 run), and a debugger letting go
        // without resuming already ends that run.
        if (!(err instanceof BusError && err.code === ErrorCode.ERROR_CODE_NO_RESPONDERS)) throw err;
      }
    },
    onStop(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      listeners.clear();
      subscription.unsubscribe();
    },
  };
}
