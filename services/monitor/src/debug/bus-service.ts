/**
 * The monitor's DebugService for one VM on its bus: requests on plex86.<vm>.debug.<method> served by
 * a MachineDebugger, and every stop published on plex86.<vm>.debug.stopped, where the debugger
 * service (busDebugTarget) listens, in the same process or over NATS.
 */

import { BusError, SUBJECT_ROOT, serveMethods, vmSubject, type Bus } from '@plex86/bus';
import { DebugServiceDefinition, ErrorCode, StopEvent } from '@plex86/proto';
import type { DebugError, MachineDebugger } from './machine-debugger.js';
import { DEBUG_STOP_SUBJECT, debugServiceHandlers, type DebugServiceHandlers } from './service.js';

const ERROR_CODES: Record<DebugError['code'], ErrorCode> = {
  BAD_REQUEST: ErrorCode.ERROR_CODE_BAD_REQUEST,
  FAILED_PRECONDITION: ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
  NOT_FOUND: ErrorCode.ERROR_CODE_NOT_FOUND,
  UNIMPLEMENTED: ErrorCode.ERROR_CODE_UNIMPLEMENTED,
};

export interface ServedDebugger {
  /** Stops serving requests and publishing stops. */
  stop(): Promise<void>;
}

/**
 * Serves `dbg`; it may be a promise while the machine is still being built (a run serves before it
 * loads the guest, so a debugger can be told where to connect at once): requests wait for it, and
 * fail with FAILED_PRECONDITION if it is rejected.
 */
export async function serveDebugService(
  bus: Bus,
  vm: string,
  dbg: MachineDebugger | Promise<MachineDebugger>,
): Promise<ServedDebugger> {
  // vmSubject checks the VM id.
  const stoppedSubject = vmSubject(vm, 'debug', DEBUG_STOP_SUBJECT);
  const prefix = `${SUBJECT_ROOT}.${vm}.debug`;
  const toError = (e: DebugError) => new BusError(ERROR_CODES[e.code], prefix, e.message);
  const ready = Promise.resolve(dbg);
  const handlers = ready.then(
    (d) => debugServiceHandlers(d, toError),
    (e: unknown) => {
      const why = e instanceof Error ? e.message : String(e);
      throw new BusError(ErrorCode.ERROR_CODE_FAILED_PRECONDITION, prefix, `the VM is not running: ${why}`);
    },
  );
  // An unhandled rejection would end the process; requests see it through `handlers`.
  handlers.catch(() => undefined);
  const call =
    <K extends keyof DebugServiceHandlers>(key: K) =>
    async (request: Parameters<DebugServiceHandlers[K]>[0]): Promise<Awaited<ReturnType<DebugServiceHandlers[K]>>> =>
      (await (await handlers)[key](request as never)) as Awaited<ReturnType<DebugServiceHandlers[K]>>;
  const service = await serveMethods(
    bus,
    {
      name: 'plex-monitor-debug',
      version: '0.1.0',
      description: `debugging of VM ${vm}`,
      metadata: { vm },
      // One monitor runs a VM: requests must not be shared out among several.
      queue: '',
    },
    prefix,
    DebugServiceDefinition,
    {
      readRegisters: call('readRegisters'),
      writeRegisters: call('writeRegisters'),
      readMemory: call('readMemory'),
      writeMemory: call('writeMemory'),
      insertBreakpoint: call('insertBreakpoint'),
      removeBreakpoint: call('removeBreakpoint'),
      insertWatchpoint: call('insertWatchpoint'),
      removeWatchpoint: call('removeWatchpoint'),
      stepInstructions: call('stepInstructions'),
      continueExecution: call('continueExecution'),
      haltExecution: call('haltExecution'),
      detachDebugger: call('detachDebugger'),
      getDebugStatus: call('getDebugStatus'),
      getSbePage: call('getSbePage'),
    },
  );
  let removeListener: (() => void) | undefined;
  let stopped = false;
  ready.then(
    (d) => {
      if (!stopped)
        removeListener = d.onStop((stop) => {
          bus.publish(stoppedSubject, StopEvent.encode(stop).finish(), { type: 'plex86.v1.StopEvent' });
        });
    },
    () => undefined,
  );
  return {
    async stop() {
      stopped = true;
      removeListener?.();
      await service.stop();
    },
  };
}
