import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BlockStatus,
  ConsoleOutput,
  CreateVmRequest,
  Engine,
  Error as ProtoError,
  ErrorCode,
  EthernetFrame,
  ImageFormat,
  ReadSectorsResponse,
  StateField,
  StopEvent,
  StopReason,
  VmControlServiceDefinition,
  WatchKind,
} from '@plex86/proto';
import {
  MessageDecodeError,
  ProtoRegistry,
  UnknownMessageTypeError,
  decodeMessage,
  messageTypeNames,
} from './proto-registry.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;

describe('messageTypeNames', () => {
  it('lists every message of the contract, fully qualified and sorted', () => {
    const names = messageTypeNames();
    for (const name of [
      'plex86.v1.Error',
      'plex86.v1.CreateVmRequest',
      'plex86.v1.ConsoleOutput',
      'plex86.v1.WriteSectorsRequest',
      'plex86.v1.EthernetFrame',
      'plex86.v1.ImageInfo',
      'plex86.v1.StopEvent',
      'plex86.v1.CpuRegisters',
      'plex86.v1.MachineState',
    ]) {
      expect(names).toContain(name);
    }
    expect(names).toEqual([...names].sort());
    expect(names).not.toContain('plex86.v1.ErrorCode'); // an enum
    expect(names).not.toContain('plex86.v1.VmControlService');
  });

  it('knows the request and response type of every method ts-proto generated for VM control', () => {
    const names = new Set(messageTypeNames());
    for (const method of Object.values(VmControlServiceDefinition.methods)) {
      expect(names).toContain(`plex86.v1.${method.name}Request`);
      expect(names).toContain(`plex86.v1.${method.name}Response`);
    }
  });
});

describe('decodeMessage', () => {
  it('decodes an Error with the enum as its name', () => {
    const bytes = ProtoError.encode({
      code: ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
      message: 'Start needs state CREATED or STOPPED, the VM is RUNNING',
      subject: 'plex86.vm1.control.start-vm',
      requestId: 'req-42',
    }).finish();
    expect(decodeMessage('plex86.v1.Error', bytes)).toEqual({
      code: 'ERROR_CODE_FAILED_PRECONDITION',
      message: 'Start needs state CREATED or STOPPED, the VM is RUNNING',
      subject: 'plex86.vm1.control.start-vm',
      requestId: 'req-42',
    });
  });

  it('gives 64-bit values as exact decimal strings and bytes as hex', () => {
    const bytes = ConsoleOutput.encode({
      consoleId: '0',
      sequence: U64_MAX,
      data: new Uint8Array([0x00, 0x0a, 0x1b, 0xff]),
      virtualTimeNs: 9_007_199_254_740_993n, // 2^53 + 1: not representable as a double
    }).finish();
    expect(decodeMessage('plex86.v1.ConsoleOutput', bytes)).toEqual({
      consoleId: '0',
      sequence: '18446744073709551615',
      data: '000a1bff',
      virtualTimeNs: '9007199254740993',
    });
  });

  it('fills in defaults, so every field of the type is present', () => {
    const bytes = ReadSectorsResponse.encode({
      requestId: 'r',
      status: BlockStatus.BLOCK_STATUS_UNSPECIFIED,
      data: new Uint8Array(),
      message: '',
    }).finish();
    expect(decodeMessage('plex86.v1.ReadSectorsResponse', bytes)).toEqual({
      requestId: 'r',
      status: 'BLOCK_STATUS_UNSPECIFIED',
      data: '',
      message: '',
    });
  });

  it('decodes nested messages and repeated fields', () => {
    const bytes = CreateVmRequest.encode(
      CreateVmRequest.fromPartial({
        requestId: 'c1',
        config: {
          memoryBytes: 256n << 20n,
          boot: { kernelPath: 'bzImage', cmdline: 'console=ttyS0' },
          disks: [
            { id: 'vda', imagePath: 'root.qcow2', format: ImageFormat.IMAGE_FORMAT_QCOW2 },
            { id: 'vdb', imagePath: 'data.raw', format: ImageFormat.IMAGE_FORMAT_RAW, readOnly: true },
          ],
          engine: Engine.ENGINE_SBE,
        },
      }),
    ).finish();
    const decoded = decodeMessage('plex86.v1.CreateVmRequest', bytes);
    const config = decoded['config'] as Record<string, unknown>;
    expect(config['memoryBytes']).toBe('268435456');
    expect(config['engine']).toBe('ENGINE_SBE');
    expect(config['boot']).toEqual({ kernelPath: 'bzImage', initrdPath: '', cmdline: 'console=ttyS0' });
    expect(config['disks']).toEqual([
      { id: 'vda', imagePath: 'root.qcow2', format: 'IMAGE_FORMAT_QCOW2', readOnly: false, serial: '' },
      { id: 'vdb', imagePath: 'data.raw', format: 'IMAGE_FORMAT_RAW', readOnly: true, serial: '' },
    ]);
    expect(config['nets']).toEqual([]);
  });

  it('names the member of a oneof that is set', () => {
    const watch = StopEvent.encode({
      sequence: 4n,
      reason: StopReason.STOP_REASON_WATCHPOINT,
      address: 0xc1001234n,
      signal: 5,
      instructionsRetired: 1_000_000n,
      detail: { $case: 'watchpoint', value: { kind: WatchKind.WATCH_KIND_WRITE, address: 0xc0400000n, length: 8 } },
    }).finish();
    const decoded = decodeMessage('plex86.v1.StopEvent', watch);
    expect(decoded['detail']).toBe('watchpoint');
    expect(decoded['watchpoint']).toEqual({ kind: 'WATCH_KIND_WRITE', address: '3225419776', length: 8 });
    expect(decoded).not.toHaveProperty('breakpoint');

    const field = StateField.encode({ name: 'ch0.mode', value: { $case: 'number', value: 2 } }).finish();
    const decodedField = decodeMessage('plex86.v1.StateField', field);
    expect(decodedField['value']).toBe('number');
    expect(decodedField['number']).toBe(2);
    expect(decodedField).not.toHaveProperty('flag');
  });

  it('accepts a leading dot in the type name', () => {
    const bytes = EthernetFrame.encode({
      frame: new Uint8Array([1, 2]),
      sourceVm: 'vm1',
      sourceNic: 'n',
      sequence: 1n,
    });
    expect(decodeMessage('.plex86.v1.EthernetFrame', bytes.finish())['frame']).toBe('0102');
  });

  it('decodes a message written by a newer sender, ignoring fields it does not know', () => {
    const known = [...StopEvent.encode(StopEvent.fromPartial({ sequence: 9n, signal: 2 })).finish()];
    const decoded = decodeMessage('plex86.v1.StopEvent', new Uint8Array([...known, 0xf8, 0x07, 0x01]));
    expect(decoded).toMatchObject({ sequence: '9', signal: 2 });
  });
});

describe('errors', () => {
  it('rejects an unknown type name and suggests close matches', () => {
    let error: unknown;
    try {
      decodeMessage('plex86.v1.StopEvnt', new Uint8Array());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnknownMessageTypeError);
    expect((error as UnknownMessageTypeError).closeMatches[0]).toBe('plex86.v1.StopEvent');
    expect((error as Error).message).toMatch(
      /unknown message type 'plex86\.v1\.StopEvnt'; did you mean plex86\.v1\.StopEvent/,
    );
  });

  it('suggests the fully qualified name for a bare or wrongly cased name', () => {
    expect(() => decodeMessage('EthernetFrame', new Uint8Array())).toThrow(/did you mean plex86\.v1\.EthernetFrame/);
    expect(() => decodeMessage('plex86.v1.cpuregisters', new Uint8Array())).toThrow(/plex86\.v1\.CpuRegisters/);
  });

  it('rejects an enum, a service and nonsense without suggesting unrelated types', () => {
    expect(() => decodeMessage('plex86.v1.ErrorCode', new Uint8Array())).toThrow(UnknownMessageTypeError);
    expect(() => decodeMessage('plex86.v1.DebugService', new Uint8Array())).toThrow(UnknownMessageTypeError);
    try {
      decodeMessage('zzqqxx', new Uint8Array());
      expect.unreachable();
    } catch (e) {
      expect((e as UnknownMessageTypeError).closeMatches).toEqual([]);
    }
  });

  it('rejects truncated bytes with the type name and the byte count', () => {
    const bytes = ReadSectorsResponse.encode({
      requestId: 'r-1',
      status: BlockStatus.BLOCK_STATUS_OK,
      data: new Uint8Array(512).fill(0xaa),
      message: '',
    }).finish();
    const cut = bytes.subarray(0, bytes.length - 100);
    expect(() => decodeMessage('plex86.v1.ReadSectorsResponse', cut)).toThrow(MessageDecodeError);
    expect(() => decodeMessage('plex86.v1.ReadSectorsResponse', cut)).toThrow(
      `cannot decode ${cut.length} bytes as plex86.v1.ReadSectorsResponse`,
    );
  });

  it('rejects garbage: invalid wire types and endless varints', () => {
    expect(() => decodeMessage('plex86.v1.Error', new Uint8Array([0x0f, 0x01]))).toThrow(MessageDecodeError);
    expect(() => decodeMessage('plex86.v1.Error', new Uint8Array([0x08, 0xff, 0xff, 0xff]))).toThrow(
      MessageDecodeError,
    );
    const huge = new Uint8Array([0x1a, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00]);
    expect(() => decodeMessage('plex86.v1.WriteSectorsRequest', huge)).toThrow(MessageDecodeError);
  });
});

describe('ProtoRegistry', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function protoDir(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'plex86-registry-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  it('resolves imports against the proto root and loads lazily', () => {
    const dir = protoDir({
      'a.proto': 'syntax = "proto3"; package t.v1; import "b.proto"; message A { B b = 1; }',
      'b.proto': 'syntax = "proto3"; package t.v1; message B { uint64 n = 1; message Inner { bool x = 1; } }',
    });
    const registry = new ProtoRegistry(dir);
    expect(registry.messageTypeNames()).toEqual(['t.v1.A', 't.v1.B', 't.v1.B.Inner']);
    expect(registry.decodeMessage('t.v1.A', new Uint8Array([0x0a, 0x02, 0x08, 0x07]))).toEqual({ b: { n: '7' } });
  });

  it('says what is missing when the directory has no proto files', () => {
    const empty = protoDir({ 'README.txt': 'nothing here' });
    expect(() => new ProtoRegistry(empty).messageTypeNames()).toThrow(/no \.proto files/);
    expect(() => new ProtoRegistry(join(empty, 'absent')).messageTypeNames()).toThrow(/is not a directory/);
  });

  it('reports a syntax error with the directory it loaded from', () => {
    const dir = protoDir({ 'bad.proto': 'syntax = "proto3"; message { }' });
    expect(() => new ProtoRegistry(dir).messageTypeNames()).toThrow(/cannot load the plex86 \.proto files/);
  });
});
