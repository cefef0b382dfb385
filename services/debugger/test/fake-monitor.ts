import { BusError, serveMethods, vmSubject, type Bus, type BusService } from '@plex86/bus';
import {
  AddressSpace,
  DebugServiceDefinition,
  ErrorCode,
  StopEvent,
  VmControlServiceDefinition,
  VmState,
  type VmStatus,
} from '@plex86/proto';
import { TargetUnsupportedError } from '../src/target.js';
import type { FakeTarget } from './fake-target.js';

/**
 * Serves DebugService and VmControlService for a FakeTarget on the bus, as a monitor would, and
 * publishes its stops; the debugger's bus client is tested against it.
 */
export async function serveFakeMonitor(
  bus: Bus,
  vmId: string,
  fake: FakeTarget,
  options: { control?: boolean } = {},
): Promise<() => Promise<void>> {
  const requests: string[] = [];
  const status = (): VmStatus => ({
    vmId,
    state: VmState.VM_STATE_PAUSED,
    config: undefined,
    instructionsRetired: 1234n,
    virtualTimeNs: 1_500_000_000n,
    exit: undefined,
    debuggerAttached: true,
  });
  const services: BusService[] = [];
  services.push(
    await serveMethods(
      bus,
      { name: 'fake-monitor-debug', version: '0.0.1' },
      `plex86.${vmId}.debug`,
      DebugServiceDefinition,
      {
        readRegisters: async (r) => (requests.push(r.requestId), { registers: await fake.readRegisters() }),
        writeRegisters: async (r) => {
          if (r.registers !== undefined) await fake.writeRegisters(r.registers);
          return {};
        },
        readMemory: async (r) => {
          const data =
            r.space === AddressSpace.ADDRESS_SPACE_PHYSICAL
              ? await (fake.monitor?.readPhysical?.(Number(r.address), r.length) ?? new Uint8Array(0))
              : await fake.readMemory(Number(r.address), r.length);
          return { data };
        },
        writeMemory: async (r) => ({ writtenBytes: await fake.writeMemory(Number(r.address), r.data) }),
        insertBreakpoint: async (r) => (await fake.insertBreakpoint(r.kind, Number(r.address)), {}),
        removeBreakpoint: async (r) => (await fake.removeBreakpoint(r.kind, Number(r.address)), {}),
        insertWatchpoint: async (r) => {
          try {
            await fake.insertWatchpoint(r.kind, Number(r.address), r.length);
          } catch (err) {
            if (!(err instanceof TargetUnsupportedError)) throw err;
            throw new BusError(ErrorCode.ERROR_CODE_UNIMPLEMENTED, '', err.message);
          }
          return {};
        },
        removeWatchpoint: async (r) => (await fake.removeWatchpoint(r.kind, Number(r.address), r.length), {}),
        stepInstructions: async () => ({ stop: await fake.step() }),
        continueExecution: async () => (await fake.resume(), {}),
        haltExecution: async () => ({ stop: await fake.halt() }),
        detachDebugger: async (r) => (await fake.detach(r.resume), {}),
        getDebugStatus: () => fake.status(),
        getSbePage: async (r) => {
          const sbePage = fake.monitor?.sbePage;
          if (sbePage === undefined) throw new BusError(ErrorCode.ERROR_CODE_UNIMPLEMENTED, '', 'no SBE pages');
          const page = await sbePage(Number(r.address));
          if (page.physicalPage < 0) {
            throw new BusError(ErrorCode.ERROR_CODE_NOT_FOUND, '', `linear address ${r.address} is not mapped`);
          }
          return { physicalPage: BigInt(page.physicalPage), attributes: page.attributes };
        },
      },
    ),
  );
  if (options.control !== false)
    services.push(
      await serveMethods(
        bus,
        { name: 'fake-monitor-control', version: '0.0.1' },
        `plex86.${vmId}.control`,
        VmControlServiceDefinition,
        {
          createVm: () => ({ status: status() }),
          startVm: () => ({ status: status() }),
          pauseVm: () => ({ status: status() }),
          resumeVm: () => ({ status: status() }),
          stopVm: () => (fake.calls.push('stopVm'), { status: status() }),
          getVmStatus: () => ({ status: status() }),
        },
      ),
    );
  const remove = fake.onStop((stop) =>
    bus.publish(vmSubject(vmId, 'debug', 'stopped'), StopEvent.encode(stop).finish(), { type: 'plex86.v1.StopEvent' }),
  );
  return async () => {
    remove();
    for (const s of services) await s.stop();
  };
}
