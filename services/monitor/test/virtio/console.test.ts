import { BusError, createInProcessBus, methodClient, type Bus, type BusMessage } from '@plex86/bus';
import { ConsoleOutput, ConsoleServiceDefinition, ErrorCode } from '@plex86/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { PortSpace } from '../../src/io/port-space.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';
import { attachVirtioDevices, type VirtioDevices } from '../../src/virtio/attach.js';
import { CONSOLE_INPUT_BUFFER } from '../../src/virtio/console.js';
import { VIRTIO_ISR_QUEUE } from '../../src/virtio/pci-transport.js';
import { LegacyDriver, until } from './driver.js';

const RXQ = 0x10000;
const TXQ = 0x20000;
const TXBUF = 0x30000;
const RXBUF = 0x40000;

let buses: Bus[] = [];
let attached: VirtioDevices[] = [];
afterEach(async () => {
  for (const a of attached) await a.close();
  for (const b of buses) await b.close();
  attached = [];
  buses = [];
});

async function setup(driverOk = true) {
  const bus = createInProcessBus();
  buses.push(bus);
  const out: ConsoleOutput[] = [];
  bus.subscribe('plex86.vm1.console.0.out', (m: BusMessage) => {
    out.push(ConsoleOutput.decode(m.data));
  });
  const io = new PortSpace();
  const mem = new PhysicalMemory({ ramSize: 4 << 20 });
  let events = 0;
  let now = 1000n;
  const devices = await attachVirtioDevices({
    bus,
    vm: 'vm1',
    io,
    mem,
    setIrq: () => undefined,
    onEvent: () => events++,
    consoles: [{ id: '0' }],
    virtualTimeNs: () => (now += 10n),
  });
  attached.push(devices);
  const con = devices.consoles[0];
  const driver = new LegacyDriver(io, mem, con.ioBarBase(0));
  driver.init(0, [RXQ, TXQ], driverOk);
  const input = methodClient(bus, 'plex86.vm1.console.0', ConsoleServiceDefinition);
  return { bus, mem, driver, con, out, input, events: () => events };
}

const text = (s: string) => new TextEncoder().encode(s);

describe('virtio-console', () => {
  it('is a transitional console function with two queues', async () => {
    const { con, driver } = await setup();
    expect(con.readConfig(0, 4)).toBe(0x10031af4);
    expect(con.readConfig(0x2e, 2)).toBe(3);
    expect(driver.queues.map((q) => q.size)).toEqual([64, 64]);
  });

  it('publishes each transmit buffer as one ConsoleOutput with growing sequence numbers', async () => {
    const { mem, driver, out, con } = await setup();
    const tx = driver.queues[1];
    mem.writeBytes(TXBUF, text('hello, '));
    mem.writeBytes(TXBUF + 0x1000, text('world\n'));
    tx.addChain([
      { addr: TXBUF, len: 7 },
      { addr: TXBUF + 0x1000, len: 6 },
    ]);
    driver.notify(1);
    mem.writeBytes(TXBUF + 0x2000, text('$ '));
    tx.addChain([{ addr: TXBUF + 0x2000, len: 2 }]);
    driver.notify(1);
    expect(tx.takeUsed()).toEqual([
      [0, 0],
      [2, 0],
    ]);
    expect(driver.readIsr()).toBe(VIRTIO_ISR_QUEUE);
    await until(() => out.length === 2, 'two chunks');
    expect(out.map((o) => [o.consoleId, o.sequence, new TextDecoder().decode(o.data)])).toEqual([
      ['0', 1n, 'hello, world\n'],
      ['0', 2n, '$ '],
    ]);
    expect(out[1].virtualTimeNs).toBeGreaterThan(out[0].virtualTimeNs);
    expect(con.bytesOut).toBe(15);
  });

  it('drops an unusable transmit buffer but returns it to the guest', async () => {
    const { driver, out, con } = await setup();
    const tx = driver.queues[1];
    tx.addChain([{ addr: 0x7fff00, len: 0x1000 }]);
    driver.notify(1);
    expect(tx.takeUsed()).toEqual([[0, 0]]);
    expect(con.droppedTransmits).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(out).toEqual([]);
  });

  it('takes input through WriteConsoleInput into the guest receive buffers and wakes the machine', async () => {
    const { mem, driver, input, events } = await setup();
    const rx = driver.queues[0];
    rx.addChain([{ addr: RXBUF, len: 4, write: true }]);
    rx.addChain([{ addr: RXBUF + 0x1000, len: 64, write: true }]);
    driver.notify(0);
    const reply = await input.writeConsoleInput({ requestId: 'in-1', consoleId: '0', data: text('ls -l\n') });
    expect(reply.acceptedBytes).toBe(6);
    expect(rx.takeUsed()).toEqual([
      [0, 4],
      [1, 2],
    ]);
    expect(new TextDecoder().decode(mem.readBytes(RXBUF, 4))).toBe('ls -');
    expect(new TextDecoder().decode(mem.readBytes(RXBUF + 0x1000, 2))).toBe('l\n');
    expect(events()).toBe(1);
    expect(driver.readIsr()).toBe(VIRTIO_ISR_QUEUE);
  });

  it('buffers 4096 bytes until the guest posts buffers, wrapping around the ring', async () => {
    const { mem, driver, input, con } = await setup();
    const rx = driver.queues[0];
    const first = new Uint8Array(3000).map((_, i) => i & 0xff);
    expect((await input.writeConsoleInput({ requestId: 'a', consoleId: '0', data: first })).acceptedBytes).toBe(3000);
    const second = new Uint8Array(3000).map((_, i) => (i + 77) & 0xff);
    const r = await input.writeConsoleInput({ requestId: 'b', consoleId: '0', data: second });
    expect(r.acceptedBytes).toBe(CONSOLE_INPUT_BUFFER - 3000);
    expect(con.pendingInput).toBe(CONSOLE_INPUT_BUFFER);
    // A retried request id is answered as before and queues nothing.
    expect((await input.writeConsoleInput({ requestId: 'b', consoleId: '0', data: second })).acceptedBytes).toBe(
      CONSOLE_INPUT_BUFFER - 3000,
    );
    rx.addChain([{ addr: RXBUF, len: 2500, write: true }]);
    driver.notify(0);
    const third = new Uint8Array(2000).fill(0x5a);
    expect((await input.writeConsoleInput({ requestId: 'c', consoleId: '0', data: third })).acceptedBytes).toBe(2000);
    rx.addChain([{ addr: RXBUF + 0x1000, len: 0x2000, write: true }]);
    driver.notify(0);
    expect(rx.takeUsed()).toEqual([
      [0, 2500],
      [1, CONSOLE_INPUT_BUFFER - 2500 + 2000],
    ]);
    const got = new Uint8Array([...mem.readBytes(RXBUF, 2500), ...mem.readBytes(RXBUF + 0x1000, 3596)]);
    const expected = new Uint8Array([...first, ...second.subarray(0, CONSOLE_INPUT_BUFFER - 3000), ...third]);
    expect(got).toEqual(expected);
    expect(con.pendingInput).toBe(0);
  });

  it('keeps input typed before DRIVER_OK for the driver', async () => {
    const { mem, driver, input } = await setup(false);
    await input.writeConsoleInput({ requestId: 'early', consoleId: '0', data: text('x') });
    const rx = driver.queues[0];
    rx.addChain([{ addr: RXBUF, len: 16, write: true }]);
    driver.notify(0);
    expect(rx.usedIdx).toBe(0);
    driver.setStatus(7);
    expect(rx.takeUsed()).toEqual([[0, 1]]);
    expect(mem.read8(RXBUF)).toBe(0x78);
  });

  it('refuses input for another console id and oversized input with BAD_REQUEST', async () => {
    const { input } = await setup();
    const wrong = input.writeConsoleInput({ requestId: 'w', consoleId: '1', data: text('x') });
    await expect(wrong).rejects.toBeInstanceOf(BusError);
    await expect(wrong).rejects.toMatchObject({ code: ErrorCode.ERROR_CODE_BAD_REQUEST });
    const big = input.writeConsoleInput({ requestId: 'big', consoleId: '0', data: new Uint8Array(65537) });
    await expect(big).rejects.toMatchObject({ code: ErrorCode.ERROR_CODE_BAD_REQUEST });
  });
});
