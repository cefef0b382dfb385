import { describe, expect, it } from 'vitest';
import {
  AddressSpace,
  BlockGeometry,
  BlockStatus,
  BreakpointKind,
  ChecksumAlgorithm,
  ConsoleDevice,
  ConsoleOutput,
  CpuRegisters,
  CreateVmRequest,
  ComponentState,
  DiscardSectorsRequest,
  Engine,
  Error as ProtoError,
  ErrorCode,
  EthernetFrame,
  ExitReason,
  GetImageInfoResponse,
  ImageFormat,
  MachineState,
  ReadMemoryRequest,
  ReadSectorsResponse,
  SectionKind,
  SnapshotHeader,
  StopEvent,
  StopReason,
  VmControlServiceDefinition,
  VmState,
  VmStatus,
  WatchKind,
  WriteConsoleInputRequest,
  WriteSectorsRequest,
} from './gen/index.plex86.v1.js';

/** The `MessageFns` shape ts-proto emits for every message. */
interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  fromPartial(object: never): T;
}

function roundTrip<T>(codec: Codec<T>, message: T): T {
  const bytes = codec.encode(message).finish();
  const decoded = codec.decode(bytes);
  expect(decoded).toEqual(message);
  return decoded;
}

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

describe('wire encoding', () => {
  it('encodes Error exactly as the protobuf wire format says', () => {
    // field 1 varint 2; field 2 length 1 "x"; field 4 length 2 "id"
    const bytes = ProtoError.encode({
      code: ErrorCode.ERROR_CODE_NOT_FOUND,
      message: 'x',
      subject: '',
      requestId: 'id',
    }).finish();
    expect([...bytes]).toEqual([0x08, 0x02, 0x12, 0x01, 0x78, 0x22, 0x02, 0x69, 0x64]);
  });

  it('encodes the largest uint64 as a ten-byte varint and decodes it without loss', () => {
    const bytes = WriteSectorsRequest.encode({ requestId: '', sector: U64_MAX, data: new Uint8Array() }).finish();
    expect([...bytes]).toEqual([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(WriteSectorsRequest.decode(bytes).sector).toBe(U64_MAX);
  });

  it('writes nothing for a message whose fields all hold defaults', () => {
    expect(VmStatus.encode(VmStatus.fromPartial({})).finish().length).toBe(0);
  });

  it('skips fields it does not know, so newer senders stay readable', () => {
    const known = ProtoError.encode({
      code: ErrorCode.ERROR_CODE_TIMEOUT,
      message: 'slow',
      subject: 's',
      requestId: 'r',
    });
    // field 99, length-delimited, 3 bytes; then field 100 varint 300
    const extra = [0x9a, 0x06, 0x03, 0x01, 0x02, 0x03, 0xa0, 0x06, 0xac, 0x02];
    const bytes = new Uint8Array([...known.finish(), ...extra]);
    expect(ProtoError.decode(bytes)).toEqual({
      code: ErrorCode.ERROR_CODE_TIMEOUT,
      message: 'slow',
      subject: 's',
      requestId: 'r',
    });
  });
});

describe('round trips', () => {
  it('error.proto: every error code', () => {
    for (const code of Object.values(ErrorCode)) {
      if (typeof code !== 'number' || code < 0) continue;
      roundTrip(ProtoError, { code, message: `code ${code}`, subject: 'plex86.vm1.control.start-vm', requestId: 'r1' });
    }
  });

  it('vm.proto: CreateVmRequest with a full config and VmStatus with an exit', () => {
    const create = roundTrip(
      CreateVmRequest,
      CreateVmRequest.fromPartial({
        requestId: 'create-1',
        config: {
          memoryBytes: 3n * 1024n * 1024n * 1024n,
          boot: { kernelPath: 'guest/bzImage', initrdPath: 'guest/initrd.gz', cmdline: 'console=ttyS0 quiet' },
          disks: [
            { id: 'vda', imagePath: 'debian.qcow2', format: ImageFormat.IMAGE_FORMAT_QCOW2, readOnly: false },
            { id: 'vdb', imagePath: 'data.raw', format: ImageFormat.IMAGE_FORMAT_RAW, readOnly: true, serial: 'D1' },
          ],
          nets: [{ id: 'net0', segment: 'lan', mac: '52:54:00:12:34:56' }],
          consoles: [{ id: '0', device: ConsoleDevice.CONSOLE_DEVICE_SERIAL, index: 0 }],
          engine: Engine.ENGINE_SBE,
        },
      }),
    );
    expect(create.config?.memoryBytes).toBe(3221225472n);
    expect(create.config?.disks[1]?.readOnly).toBe(true);

    roundTrip(
      VmStatus,
      VmStatus.fromPartial({
        vmId: 'vm1',
        state: VmState.VM_STATE_FAILED,
        instructionsRetired: 123_456_789_012_345n,
        virtualTimeNs: U64_MAX - 1n,
        exit: { reason: ExitReason.EXIT_REASON_TRIPLE_FAULT, message: 'fault in #DF', instructionAddress: 0xc10000f0n },
        debuggerAttached: true,
      }),
    );
  });

  it('console.proto: output chunk and input request with binary data', () => {
    const out = roundTrip(ConsoleOutput, {
      consoleId: '0',
      sequence: 2n ** 40n + 7n,
      data: new Uint8Array([0x1b, 0x5b, 0x30, 0x6d, 0x00, 0xff, 0x0a]),
      virtualTimeNs: 1_500_000_000n,
    });
    expect(out.data).toBeInstanceOf(Uint8Array);
    roundTrip(WriteConsoleInputRequest, { requestId: 'in-9', consoleId: '1', data: pattern(4096, 3) });
  });

  it('block.proto: a 1 MiB write, a read response, a discard and the geometry', () => {
    // Compared as a buffer: an element-wise deep equality of 1 MiB is needlessly slow.
    const data = pattern(1 << 20, 5);
    const write = WriteSectorsRequest.decode(
      WriteSectorsRequest.encode({ requestId: 'w-1', sector: 2n ** 33n + 1n, data }).finish(),
    );
    expect(write.requestId).toBe('w-1');
    expect(write.sector).toBe(2n ** 33n + 1n);
    expect(Buffer.from(write.data).equals(data)).toBe(true);
    roundTrip(ReadSectorsResponse, {
      requestId: 'r-1',
      status: BlockStatus.BLOCK_STATUS_OK,
      data: pattern(8 * 512, 1),
      message: '',
    });
    roundTrip(ReadSectorsResponse, {
      requestId: 'r-2',
      status: BlockStatus.BLOCK_STATUS_IO_ERROR,
      data: new Uint8Array(),
      message: 'sector 9 beyond the end of the disk',
    });
    roundTrip(DiscardSectorsRequest, { requestId: 'd-1', sector: 2048n, count: U64_MAX, zero: true });
    roundTrip(
      BlockGeometry,
      BlockGeometry.fromPartial({
        capacitySectors: 41943040n,
        optimalIoBytes: 65536,
        maxTransferSectors: 2048,
        discard: true,
        cylinders: 16383,
        heads: 16,
        sectorsPerTrack: 63,
        serial: 'plex86-vda',
      }),
    );
  });

  it('net.proto: a frame with its source and sequence', () => {
    const frame = pattern(1514, 9);
    frame.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
    roundTrip(EthernetFrame, { frame, sourceVm: 'vm1', sourceNic: 'net0', sequence: 77n });
  });

  it('storage.proto: image info with a backing chain', () => {
    roundTrip(
      GetImageInfoResponse,
      GetImageInfoResponse.fromPartial({
        info: {
          path: 'vm1/overlay-2.qcow2',
          format: ImageFormat.IMAGE_FORMAT_QCOW2,
          virtualSize: 20n * 1024n ** 3n,
          actualSize: 196_608n,
          clusterSize: 65536,
          backingChain: [
            { path: 'vm1/overlay-1.qcow2', format: ImageFormat.IMAGE_FORMAT_QCOW2, virtualSize: 20n * 1024n ** 3n },
            { path: 'debian.raw', format: ImageFormat.IMAGE_FORMAT_RAW, virtualSize: 20n * 1024n ** 3n },
          ],
          inUse: true,
        },
      }),
    );
  });

  it('debug.proto: registers, memory access and every stop detail of the oneof', () => {
    const st = Array.from({ length: 8 }, (_, i) => pattern(10, i));
    const regs = roundTrip(
      CpuRegisters,
      CpuRegisters.fromPartial({
        eax: 0xffffffff,
        esp: 0xc1234ff0,
        eip: 0x0010_0000,
        eflags: 0x0000_0202,
        cs: { selector: 0x60, base: 0, limit: 0xffffffff, attributes: 0xc09b },
        ss: { selector: 0, base: 0, limit: 0, attributes: 0x1_0000 },
        gdtr: { base: 0xc1000000, limit: 0xff },
        cr0: 0x8005_0033,
        cr3: 0x0123_4000,
        dr7: 0x400,
        x87: { control: 0x37f, status: 0x3800, tag: 0xffff, st },
        sse: { xmm: Array.from({ length: 8 }, (_, i) => pattern(16, i)), mxcsr: 0x1f80 },
      }),
    );
    expect(regs.x87?.st[7]).toEqual(pattern(10, 7));

    roundTrip(
      ReadMemoryRequest,
      ReadMemoryRequest.fromPartial({
        requestId: 'm',
        space: AddressSpace.ADDRESS_SPACE_PHYSICAL,
        address: 0xfee00000n,
        length: 4,
      }),
    );

    const base = { sequence: 3n, address: 0xc1000000n, signal: 5, instructionsRetired: 99n };
    const hits: StopEvent[] = [
      {
        ...base,
        reason: StopReason.STOP_REASON_BREAKPOINT,
        detail: { $case: 'breakpoint', value: { kind: BreakpointKind.BREAKPOINT_KIND_SOFTWARE, address: 0xc1000000n } },
      },
      {
        ...base,
        reason: StopReason.STOP_REASON_WATCHPOINT,
        detail: { $case: 'watchpoint', value: { kind: WatchKind.WATCH_KIND_ACCESS, address: 0xc2000010n, length: 4 } },
      },
      {
        ...base,
        reason: StopReason.STOP_REASON_EXITED,
        signal: 0,
        detail: {
          $case: 'exit',
          value: { reason: ExitReason.EXIT_REASON_GUEST_SHUTDOWN, message: 'power off', instructionAddress: 0n },
        },
      },
      { ...base, reason: StopReason.STOP_REASON_STEP, detail: undefined },
    ];
    for (const hit of hits) expect(roundTrip(StopEvent, hit).detail?.$case).toBe(hit.detail?.$case);
  });

  it('snapshot.proto: header and machine state with named component fields', () => {
    const header = roundTrip(SnapshotHeader, {
      magic: new TextEncoder().encode('PLEX86SN'),
      formatVersion: 1,
      vmId: 'vm1',
      createdUnixMs: 1_795_000_000_000n,
      checksumAlgorithm: ChecksumAlgorithm.CHECKSUM_ALGORITHM_SHA256,
      sections: [
        { kind: SectionKind.SECTION_KIND_MACHINE_STATE, offset: 200n, length: 4000n, checksum: pattern(32, 1) },
        { kind: SectionKind.SECTION_KIND_RAM, offset: 4200n, length: 2n ** 32n, checksum: pattern(32, 2) },
      ],
    });
    // The file layout promises the magic at offset 6: 4 bytes of length, then tag 0x0a and length 8.
    const encoded = SnapshotHeader.encode(header).finish();
    expect(new TextDecoder().decode(encoded.subarray(2, 10))).toBe('PLEX86SN');

    const components: ComponentState[] = [
      {
        id: 'pit',
        version: 1,
        fields: [
          { name: 'ch0.mode', value: { $case: 'number', value: 2 } },
          { name: 'ch0.running', value: { $case: 'flag', value: true } },
          { name: 'timer', value: { $case: 'number', value: Infinity } },
        ],
      },
      { id: 'rtc', version: 1, fields: [{ name: 'cmos', value: { $case: 'data', value: pattern(128, 5) } }] },
      { id: 'virtio-vda', version: 1, fields: [{ name: 'lastFault', value: { $case: 'text', value: '' } }] },
    ];
    const state = roundTrip(
      MachineState,
      MachineState.fromPartial({
        setup: {
          memoryBytes: 128n << 20n,
          nsPerInstruction: 5,
          serial: true,
          exitPort: 0,
          disks: [
            {
              id: 'vda',
              spec: '/images/disk.raw,overlay=/images/o.qcow2',
              format: ImageFormat.IMAGE_FORMAT_QCOW2,
              files: [{ path: '/images/o.qcow2', sizeBytes: 196_608n, mtimeNs: 1_700_000_000_123_456_789n }],
            },
          ],
          virtioConsoles: ['hvc0'],
          nets: [{ id: 'eth0', mac: '52:54:00:12:34:56', segment: 'lan0' }],
        },
        components,
        ram: {
          sizeBytes: 128n << 20n,
          runs: [
            { firstPage: 0n, pageCount: 160n },
            { firstPage: 256n, pageCount: 32512n },
          ],
        },
        instructionsRetired: 5_000_000_000n,
        virtualTimeNs: 12_000_000_000n,
      }),
    );
    expect(state.components.map((c) => c.fields[0]?.value?.$case)).toEqual(['number', 'data', 'text']);
    expect(state.components[0].fields[2].value).toEqual({ $case: 'number', value: Infinity });
    // An explicit port 0 is kept apart from no exit port.
    expect(state.setup?.exitPort).toBe(0);
    expect(roundTrip(MachineState, MachineState.fromPartial({ setup: { serial: true } })).setup?.exitPort).toBe(
      undefined,
    );
  });

  it('carries 64-bit values through JSON as decimal strings', () => {
    const frame = EthernetFrame.fromPartial({ sourceVm: 'vm2', sequence: U64_MAX, frame: new Uint8Array([1, 2, 3]) });
    const json = EthernetFrame.toJSON(frame) as Record<string, unknown>;
    expect(json['sequence']).toBe('18446744073709551615');
    expect(EthernetFrame.fromJSON(JSON.parse(JSON.stringify(json)))).toEqual({ ...frame, sourceNic: '' });
  });
});

describe('malformed input', () => {
  const write = WriteSectorsRequest.encode({ requestId: 'w-7', sector: 99n, data: pattern(1024, 2) }).finish();
  const create = CreateVmRequest.encode(
    CreateVmRequest.fromPartial({
      requestId: 'c',
      config: { memoryBytes: 1n << 27n, disks: [{ id: 'vda', imagePath: 'a.qcow2' }] },
    }),
  ).finish();

  it('throws on every truncation inside a length-delimited field', () => {
    // The data field's payload starts after: 2+3 (request id), 2 (sector), 3 (tag + 2-byte length).
    const dataStart = 10;
    expect(write.length).toBe(dataStart + 1024);
    for (let cut = dataStart - 2; cut < write.length; cut += 37) {
      expect(() => WriteSectorsRequest.decode(write.subarray(0, cut)), `cut at ${cut}`).toThrow();
    }
  });

  it('throws when a nested message is cut short', () => {
    expect(() => CreateVmRequest.decode(create.subarray(0, create.length - 3))).toThrow();
  });

  it('throws on a varint that never ends', () => {
    expect(() => ReadSectorsResponse.decode(new Uint8Array([0x10, 0xff, 0xff, 0xff]))).toThrow();
    expect(() =>
      ReadSectorsResponse.decode(new Uint8Array([0x10, ...new Array<number>(11).fill(0xff), 0x01])),
    ).toThrow();
  });

  it('throws on invalid wire types', () => {
    expect(() => ProtoError.decode(new Uint8Array([0x0f, 0x00]))).toThrow(); // wire type 7
    expect(() => ProtoError.decode(new Uint8Array([0x0e, 0x00]))).toThrow(); // wire type 6
    expect(() => ProtoError.decode(new Uint8Array([0x2b, 0x00]))).toThrow(); // group start without its end
  });

  it('throws on a length prefix larger than the buffer', () => {
    // field 3 (data), length 2^31 - 1, two bytes of payload
    expect(() => WriteSectorsRequest.decode(new Uint8Array([0x1a, 0xff, 0xff, 0xff, 0xff, 0x07, 1, 2]))).toThrow();
  });

  it('either throws or returns a message for random garbage, and never hangs', () => {
    // A fixed xorshift seed keeps the inputs, and so the count, reproducible.
    let state = 0x2545f491;
    let thrown = 0;
    for (let i = 0; i < 200; i++) {
      const junk = new Uint8Array(64);
      for (let j = 0; j < junk.length; j++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        junk[j] = state & 0xff;
      }
      try {
        const decoded = MachineState.decode(junk);
        expect(Array.isArray(decoded.components)).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        thrown++;
      }
    }
    expect(thrown).toBeGreaterThan(100);
  });
});

describe('service definitions', () => {
  it('describe every VM control method with its message types', () => {
    const methods = Object.values(VmControlServiceDefinition.methods).map((m) => m.name);
    expect(methods).toEqual(['CreateVm', 'StartVm', 'PauseVm', 'ResumeVm', 'StopVm', 'GetVmStatus']);
    expect(VmControlServiceDefinition.fullName).toBe('plex86.v1.VmControlService');
    expect(VmControlServiceDefinition.methods.createVm.requestType).toBe(CreateVmRequest);
  });
});
