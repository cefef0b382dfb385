import { BusError, createInProcessBus, methodClient, vmSubject, type Bus } from '@plex86/bus';
import { AddressSpace, DebugServiceDefinition, ErrorCode, StopEvent, StopReason } from '@plex86/proto';
import { ByteAttr } from '@plex86/x86';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cr0, Seg } from '../cpu/registers.js';
import { Machine } from '../machine/machine.js';
import { serveDebugService, type ServedDebugger } from './bus-service.js';
import { MachineDebugger } from './machine-debugger.js';

let bus: Bus;
let served: ServedDebugger | undefined;

beforeEach(() => {
  bus = createInProcessBus();
});

afterEach(async () => {
  await served?.stop();
  served = undefined;
  await bus.close();
});

/** A real-mode machine at 0:7C00 running `inc ax; jmp $-1`. */
function machine(): Machine {
  const m = new Machine({ memory: 1 << 20 });
  m.mem.writeBytes(0x7c00, new Uint8Array([0x40, 0xeb, 0xfd]));
  m.cpu.loadRealSegment(Seg.CS, 0);
  m.cpu.eip = 0x7c00;
  m.blocks.flush();
  return m;
}

describe('serveDebugService', () => {
  it('answers DebugService for a debugger that arrives later, publishes stops and maps refusals to bus codes', async () => {
    let attach!: (dbg: MachineDebugger) => void;
    served = await serveDebugService(bus, 'vm7', new Promise((resolve) => (attach = resolve)));
    const client = methodClient(bus, 'plex86.vm7.debug', DebugServiceDefinition);
    const stops: StopEvent[] = [];
    bus.subscribe(vmSubject('vm7', 'debug', 'stopped'), (m) => {
      stops.push(StopEvent.decode(m.data));
    });

    // Asked before the machine exists: answered once it does.
    const early = client.haltExecution({ requestId: '1' });
    const m = machine();
    const dbg = new MachineDebugger(m);
    attach(dbg);
    const { stop } = await early;
    expect(stop?.reason).toBe(StopReason.STOP_REASON_HALT_REQUEST);
    expect(stop?.address).toBe(0x7c00n);

    const stepped = await client.stepInstructions({ requestId: '2', count: 1 });
    expect(stepped.stop?.address).toBe(0x7c01n);
    expect((await client.readRegisters({ requestId: '3' })).registers?.eax).toBe(1);
    const memory = await client.readMemory({
      requestId: '4',
      space: AddressSpace.ADDRESS_SPACE_PHYSICAL,
      address: 0x7c00n,
      length: 3,
    });
    expect([...memory.data]).toEqual([0x40, 0xeb, 0xfd]);
    await new Promise((r) => setImmediate(r));
    expect(stops.map((s) => s.reason)).toContain(StopReason.STOP_REASON_STEP);

    const refused = client.readMemory({
      requestId: '5',
      space: AddressSpace.ADDRESS_SPACE_LINEAR,
      address: 0n,
      length: 0,
    });
    await expect(refused).rejects.toBeInstanceOf(BusError);
    await expect(refused).rejects.toMatchObject({ code: ErrorCode.ERROR_CODE_BAD_REQUEST });
    await client.continueExecution({ requestId: '6' });
    await expect(client.readRegisters({ requestId: '7' })).rejects.toMatchObject({
      code: ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
    });
    await client.detachDebugger({ requestId: '8', resume: false });
    expect(dbg.holding).toBe(false);
  });

  it('answers GetSbePage with the attribute page of the code the guest ran, halted or running', async () => {
    const m = machine();
    const dbg = new MachineDebugger(m, { sliceInstructions: 1000 });
    served = await serveDebugService(bus, 'vm9', dbg);
    const client = methodClient(bus, 'plex86.vm9.debug', DebugServiceDefinition);
    await client.haltExecution({ requestId: '1' });
    await client.continueExecution({ requestId: '2' });
    for (let i = 0; i < 1000 && m.cpu.instructions < 5000; i++) await new Promise((r) => setTimeout(r, 1));
    expect(m.cpu.instructions).toBeGreaterThanOrEqual(5000);

    // While the loop runs: inc ax at 7C00 and jmp at 7C01 start instructions, 7C02 is the jump's operand.
    const running = await client.getSbePage({ requestId: '3', address: 0x7c02n });
    expect(running.physicalPage).toBe(0x7000n);
    expect(running.attributes).toHaveLength(4096);
    const at = (offset: number, bit: ByteAttr) => running.attributes[offset] & bit;
    expect(at(0xc00, ByteAttr.INSN_START)).toBe(ByteAttr.INSN_START);
    expect(at(0xc00, ByteAttr.ENTRY)).toBe(ByteAttr.ENTRY);
    expect(at(0xc01, ByteAttr.INSN_START)).toBe(ByteAttr.INSN_START);
    expect(at(0xc01, ByteAttr.BLOCK_END)).toBe(ByteAttr.BLOCK_END);
    expect(at(0xc02, ByteAttr.INSN_START)).toBe(0);
    expect(at(0xc02, ByteAttr.CODE)).toBe(ByteAttr.CODE);
    expect(at(0xbff, ByteAttr.CODE)).toBe(0);
    expect(at(0xc03, ByteAttr.CODE)).toBe(0);

    await client.haltExecution({ requestId: '4' });
    const halted = await client.getSbePage({ requestId: '5', address: 0x7c00n });
    expect([...halted.attributes]).toEqual([...running.attributes]);
    // A page the guest never ran code in: mapped, nothing scanned.
    const data = await client.getSbePage({ requestId: '6', address: 0x20123n });
    expect(data.physicalPage).toBe(0x20000n);
    expect(data.attributes).toHaveLength(0);
    await expect(client.getSbePage({ requestId: '7', address: 0x1_0000_0000n })).rejects.toMatchObject({
      code: ErrorCode.ERROR_CODE_BAD_REQUEST,
    });

    // Paging on with an empty page directory: no linear address is mapped.
    m.cpu.setCr3(0x10000);
    m.cpu.setCr0(m.cpu.cr0 | Cr0.PE | Cr0.PG);
    await expect(client.getSbePage({ requestId: '8', address: 0x7c00n })).rejects.toMatchObject({
      code: ErrorCode.ERROR_CODE_NOT_FOUND,
      message: expect.stringContaining('linear address 00007c00 is not mapped'),
    });
  });

  it('refuses requests with FAILED_PRECONDITION when the machine never came', async () => {
    let abandon!: (why: Error) => void;
    const never = new Promise<MachineDebugger>((_, reject) => (abandon = reject));
    served = await serveDebugService(bus, 'vm8', never);
    abandon(new Error('the run ended'));
    const client = methodClient(bus, 'plex86.vm8.debug', DebugServiceDefinition);
    await expect(client.getDebugStatus({ requestId: '1' })).rejects.toMatchObject({
      code: ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
      message: expect.stringMatching(/the run ended/),
    });
  });
});
