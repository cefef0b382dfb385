import * as proto from '@plex86/proto';
import {
  ErrorCode,
  GetVmStatusRequest,
  GetVmStatusResponse,
  StartVmRequest,
  VmControlServiceDefinition,
  VmState,
} from '@plex86/proto';
import { describe, expect, it } from 'vitest';
import { BusError } from './errors.js';
import { createInProcessBus } from './in-process-bus.js';
import type { BusLogger } from './logger.js';
import { protoTypeName } from './type-names.js';
import { callMethod, kebabCase, methodClient, methodSubject, serveMethods, type ServiceDefinition } from './typed.js';

const silent: BusLogger = { warn: () => undefined, error: () => undefined };

function status(state: VmState, instructionsRetired = 0n): GetVmStatusResponse {
  return GetVmStatusResponse.fromPartial({ status: { vmId: 'vm1', state, instructionsRetired } });
}

describe('method subjects', () => {
  it.each([
    ['Step', 'step'],
    ['ReadMemory', 'read-memory'],
    ['GetVmStatus', 'get-vm-status'],
    ['GetVMState', 'get-vm-state'],
    ['SetBreakpoint2', 'set-breakpoint2'],
    ['Read16Bytes', 'read16-bytes'],
  ])('%s -> %s', (name, kebab) => {
    expect(kebabCase(name)).toBe(kebab);
  });

  it('puts the method under the prefix', () => {
    expect(methodSubject('plex86.vm1.control', 'StartVm')).toBe('plex86.vm1.control.start-vm');
  });
});

describe('protoTypeName', () => {
  it('names generated codecs by their fully qualified protobuf type', () => {
    expect(protoTypeName(GetVmStatusRequest)).toBe('plex86.v1.GetVmStatusRequest');
    expect(protoTypeName(proto.Error)).toBe('plex86.v1.Error');
    expect(protoTypeName({ encode: () => null, decode: () => null })).toBe('');
    expect(protoTypeName({ $type: 'x.y.Z' })).toBe('x.y.Z');
  });

  it('knows every request and response type of every generated service', () => {
    const definitions = Object.entries(proto).filter(
      ([name, value]) => name.endsWith('ServiceDefinition') && typeof value === 'object',
    ) as [string, ServiceDefinition][];
    expect(definitions.length).toBeGreaterThan(0);
    for (const [, definition] of definitions) {
      for (const method of Object.values(definition.methods)) {
        expect(protoTypeName(method.requestType), `${definition.name}.${method.name} request`).toMatch(
          /^plex86\.v1\.\w+$/,
        );
        expect(protoTypeName(method.responseType), `${definition.name}.${method.name} response`).toMatch(
          /^plex86\.v1\.\w+$/,
        );
      }
    }
  });
});

describe('serveMethods / methodClient over a generated definition', () => {
  async function vmService() {
    const bus = createInProcessBus();
    let state = VmState.VM_STATE_CREATED;
    const unexpected = (): never => {
      throw new BusError(ErrorCode.ERROR_CODE_UNIMPLEMENTED, '', 'not in this test');
    };
    const service = await serveMethods(
      bus,
      { name: 'plex-monitor', version: '0.1.0', metadata: { vm: 'vm1' } },
      'plex86.vm1.control',
      VmControlServiceDefinition,
      {
        createVm: unexpected,
        startVm: () => {
          if (state !== VmState.VM_STATE_CREATED) {
            throw new BusError(ErrorCode.ERROR_CODE_FAILED_PRECONDITION, '', 'Start: only in state CREATED or STOPPED');
          }
          state = VmState.VM_STATE_RUNNING;
          return { status: status(state).status };
        },
        pauseVm: unexpected,
        resumeVm: unexpected,
        stopVm: unexpected,
        getVmStatus: async () => status(state, 123_456_789_012n),
      },
      { logger: silent },
    );
    return { bus, service };
  }

  it('registers one endpoint per method, with type names in the metadata', async () => {
    const { bus, service } = await vmService();
    const [found] = await bus.discover();
    expect(found?.id).toBe(service.id);
    expect(found?.metadata).toEqual({ service: 'plex86.v1.VmControlService', vm: 'vm1' });
    const start = found?.endpoints.find((e) => e.name === 'start-vm');
    expect(start).toMatchObject({
      subject: 'plex86.vm1.control.start-vm',
      metadata: { method: 'StartVm', request: 'plex86.v1.StartVmRequest', response: 'plex86.v1.StartVmResponse' },
    });
    expect(found?.endpoints.map((e) => e.name).sort()).toEqual([
      'create-vm',
      'get-vm-status',
      'pause-vm',
      'resume-vm',
      'start-vm',
      'stop-vm',
    ]);
    await bus.close();
  });

  it('calls methods with typed requests and responses, bigints included, and typed errors', async () => {
    const { bus } = await vmService();
    const client = methodClient(bus, 'plex86.vm1.control', VmControlServiceDefinition);
    const first = await client.getVmStatus({ requestId: 'a' });
    expect(first.status?.state).toBe(VmState.VM_STATE_CREATED);
    expect(first.status?.instructionsRetired).toBe(123_456_789_012n);
    expect((await client.startVm({ requestId: 'b' })).status?.state).toBe(VmState.VM_STATE_RUNNING);
    const again = await client.startVm({ requestId: 'c' }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(BusError);
    expect((again as BusError).code).toBe(ErrorCode.ERROR_CODE_FAILED_PRECONDITION);
    expect((again as BusError).subject).toBe('plex86.vm1.control.start-vm');
    const reply = await bus.request(
      'plex86.vm1.control.get-vm-status',
      GetVmStatusRequest.encode({ requestId: 'd' }).finish(),
    );
    expect(reply.type).toBe('plex86.v1.GetVmStatusResponse');
    await bus.close();
  });

  it('refuses a definition with a missing handler or a streaming method', async () => {
    const bus = createInProcessBus();
    const missing = await serveMethods(bus, { name: 'partial', version: '1.0.0' }, 'p', VmControlServiceDefinition, {
      startVm: () => ({ status: undefined }),
    } as never).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(BusError);
    expect((missing as BusError).message).toMatch(/no handler for VmControlService\.CreateVm/);
    const streaming = {
      name: 'Streams',
      methods: {
        watch: {
          name: 'Watch',
          requestType: StartVmRequest,
          responseType: StartVmRequest,
          requestStream: false,
          responseStream: true,
        },
      },
    } as const;
    const refused = await serveMethods(bus, { name: 'streams', version: '1.0.0' }, 'p', streaming, {
      watch: (r) => r,
    }).catch((e: unknown) => e);
    expect((refused as BusError).code).toBe(ErrorCode.ERROR_CODE_UNIMPLEMENTED);
    expect((refused as BusError).message).toMatch(/Streams\.Watch streams/);
    await bus.close();
  });

  it('reports a reply of the wrong type or one that does not decode as INTERNAL', async () => {
    const bus = createInProcessBus();
    await bus.addService({ name: 'liar', version: '1.0.0' }, [
      { name: 'wrong', subject: 'x.wrong', handler: () => ({ data: new Uint8Array(), type: 'plex86.v1.Other' }) },
      { name: 'garbage', subject: 'x.garbage', handler: () => ({ data: Uint8Array.of(0x0a, 0x09, 0x01) }) },
    ]);
    const wrong = await callMethod(bus, 'x.wrong', GetVmStatusRequest, GetVmStatusResponse, { requestId: '' }).catch(
      (e: unknown) => e,
    );
    expect((wrong as BusError).code).toBe(ErrorCode.ERROR_CODE_INTERNAL);
    expect((wrong as BusError).message).toBe(
      'x.wrong answered with plex86.v1.Other, expected plex86.v1.GetVmStatusResponse',
    );
    const garbage = await callMethod(bus, 'x.garbage', GetVmStatusRequest, GetVmStatusResponse, {
      requestId: '',
    }).catch((e: unknown) => e);
    expect((garbage as BusError).code).toBe(ErrorCode.ERROR_CODE_INTERNAL);
    expect((garbage as BusError).message).toMatch(
      /cannot decode the reply from x\.garbage as plex86\.v1\.GetVmStatusResponse/,
    );
    await bus.close();
  });
});
