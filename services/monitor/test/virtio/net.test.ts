import { describe, expect, it } from 'vitest';
import { PortSpace } from '../../src/io/port-space.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';
import { PciBus } from '../../src/pci/pci-bus.js';
import {
  NET_MAX_FRAME,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_SIZE,
  VirtioNet,
  type NetLink,
} from '../../src/virtio/net.js';
import { VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_ISR_CONFIG, VIRTIO_ISR_QUEUE } from '../../src/virtio/pci-transport.js';
import { LegacyDriver, until } from './driver.js';

const RXQ = 0x10000;
const TXQ = 0x20000;
const TXBUF = 0x30000;
const RXBUF = 0x40000;
/** What Linux posts without mergeable buffers: header and a full frame in one buffer. */
const RX_BUFFER_SIZE = VIRTIO_NET_HDR_SIZE + NET_MAX_FRAME;

const MAC_A = '52:54:00:00:00:0a';
const MAC_B = '52:54:00:00:00:0b';

/**
 * A segment reduced to what the device relies on: every other member receives a copy of each frame,
 * later (as over a bus), never the sender itself. Address filtering is the port's job (hal-net).
 */
class Hub {
  readonly links: HubLink[] = [];
  link(): HubLink {
    const l = new HubLink(this);
    this.links.push(l);
    return l;
  }
}

class HubLink implements NetLink {
  onFrame: ((frame: Uint8Array) => void) | null = null;
  refuse = false;
  sent = 0;
  constructor(private readonly hub: Hub) {}
  send(frame: Uint8Array): boolean {
    if (this.refuse) return false;
    this.sent++;
    const copy = frame.slice();
    for (const other of this.hub.links) {
      if (other !== this) setImmediate(() => other.onFrame?.(copy));
    }
    return true;
  }
}

function machine(mac: string, link: NetLink, queueSize?: number) {
  const io = new PortSpace();
  const mem = new PhysicalMemory({ ramSize: 4 << 20 });
  const irqs: boolean[] = [];
  const pci = new PciBus(io, (_line, level) => irqs.push(level));
  let events = 0;
  const nic = new VirtioNet(mem, { id: 'net0', mac, link, onEvent: () => events++, queueSize });
  pci.addDevice(nic);
  const driver = new LegacyDriver(io, mem, nic.ioBarBase(0));
  return { io, mem, nic, driver, irqs, events: () => events };
}

type Machine = ReturnType<typeof machine>;

function frame(dst: string, src: string, payload: number[] | number): Uint8Array {
  const body = typeof payload === 'number' ? Array.from({ length: payload }, (_, i) => (i * 7) & 0xff) : payload;
  const mac = (t: string) => t.split(':').map((h) => parseInt(h, 16));
  return new Uint8Array([...mac(dst), ...mac(src), 0x08, 0x00, ...body]);
}

/** The guest posts `count` receive buffers of `size` bytes, pre-filled with 0xAA. */
function postRx(m: Machine, count: number, size = RX_BUFFER_SIZE, at = RXBUF): number[] {
  const rx = m.driver.queues[0];
  const heads: number[] = [];
  for (let i = 0; i < count; i++) {
    const addr = at + i * 0x800;
    m.mem.fill(addr, size, 0xaa);
    heads.push(rx.addChain([{ addr, len: size, write: true }]));
  }
  m.driver.notify(0);
  return heads;
}

/** The guest transmits a frame: header in one descriptor, frame in the next (or both in one). */
function transmit(m: Machine, f: Uint8Array, oneBuffer = false, at = TXBUF): void {
  const header = new Uint8Array(VIRTIO_NET_HDR_SIZE).fill(0x5c); // flags and lengths the device ignores
  const tx = m.driver.queues[1];
  if (oneBuffer) {
    m.mem.writeBytes(at, new Uint8Array([...header, ...f]));
    tx.addChain([{ addr: at, len: header.length + f.length }]);
  } else {
    m.mem.writeBytes(at, header);
    m.mem.writeBytes(at + 0x100, f);
    tx.addChain([
      { addr: at, len: header.length },
      { addr: at + 0x100, len: f.length },
    ]);
  }
  m.driver.notify(1);
}

function pair() {
  const hub = new Hub();
  const a = machine(MAC_A, hub.link());
  const b = machine(MAC_B, hub.link());
  const wanted = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS;
  a.driver.init(wanted, [RXQ, TXQ]);
  b.driver.init(wanted, [RXQ, TXQ]);
  return { hub, a, b };
}

describe('virtio-net', () => {
  it('is a transitional network function offering MAC and STATUS, with the MAC and link state in its configuration', () => {
    const { a } = pair();
    expect(a.nic.readConfig(0, 4)).toBe(0x10001af4);
    expect(a.nic.readConfig(0x0a, 2)).toBe(0x0200);
    expect(a.nic.readConfig(0x2e, 2)).toBe(1);
    expect(a.driver.hostFeatures & (VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS)).toBe(
      VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS,
    );
    expect(a.driver.hostFeatures & 0xffffff & ~(VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS)).toBe(0);
    expect(Array.from({ length: 6 }, (_, i) => a.driver.config8(i))).toEqual([0x52, 0x54, 0, 0, 0, 0x0a]);
    expect(a.driver.config8(6)).toBe(1);
    expect(a.driver.config32(4) & 0xffff0000).toBe(0x00010000);
    expect(a.driver.queues.map((q) => q.size)).toEqual([256, 256]);
  });

  it('two interfaces exchange frames: header stripped on transmit, zeroed header on receive, interrupt', async () => {
    const { a, b } = pair();
    postRx(b, 2);
    postRx(a, 1);
    const toB = frame(MAC_B, MAC_A, 100);
    transmit(a, toB);
    expect(a.driver.queues[1].takeUsed()).toEqual([[0, 0]]);
    expect(a.nic.stats).toMatchObject({ txFrames: 1, txBytes: toB.length, txErrors: 0 });

    await until(() => b.nic.stats.rxFrames === 1, 'the frame at B');
    const [[head, len]] = b.driver.queues[0].takeUsed();
    expect(head).toBe(0);
    expect(len).toBe(VIRTIO_NET_HDR_SIZE + toB.length);
    expect([...b.mem.readBytes(RXBUF, VIRTIO_NET_HDR_SIZE)]).toEqual(new Array(VIRTIO_NET_HDR_SIZE).fill(0));
    expect(b.mem.readBytes(RXBUF + VIRTIO_NET_HDR_SIZE, toB.length)).toEqual(toB);
    expect(b.mem.read8(RXBUF + VIRTIO_NET_HDR_SIZE + toB.length)).toBe(0xaa); // nothing written past it
    expect(b.driver.readIsr()).toBe(VIRTIO_ISR_QUEUE);
    expect(b.irqs).toContain(true);
    expect(b.events()).toBe(1);

    // And back, with header and frame in one transmit buffer and a full-size frame.
    const toA = frame(MAC_A, MAC_B, NET_MAX_FRAME - 14);
    transmit(b, toA, true);
    await until(() => a.nic.stats.rxFrames === 1, 'the frame at A');
    expect(a.driver.queues[0].takeUsed()).toEqual([[0, VIRTIO_NET_HDR_SIZE + NET_MAX_FRAME]]);
    expect(a.mem.readBytes(RXBUF + VIRTIO_NET_HDR_SIZE, toA.length)).toEqual(toA);
  });

  it('receives into a chain of small buffers, header and frame split across them', async () => {
    const { a, b } = pair();
    const rx = b.driver.queues[0];
    b.mem.fill(RXBUF, 0x1000, 0xaa);
    rx.addChain([
      { addr: RXBUF, len: 4, write: true },
      { addr: RXBUF + 0x100, len: 30, write: true },
      { addr: RXBUF + 0x200, len: 2000, write: true },
    ]);
    b.driver.notify(0);
    const f = frame(MAC_B, MAC_A, 50);
    transmit(a, f);
    await until(() => b.nic.stats.rxFrames === 1, 'the frame');
    const bytes = [
      ...b.mem.readBytes(RXBUF, 4),
      ...b.mem.readBytes(RXBUF + 0x100, 30),
      ...b.mem.readBytes(RXBUF + 0x200, VIRTIO_NET_HDR_SIZE + f.length - 34),
    ];
    expect(bytes).toEqual([...new Array(VIRTIO_NET_HDR_SIZE).fill(0), ...f]);
  });

  it('drops and counts frames when the guest has no receive buffers, and delivers again once it posts some', async () => {
    const { a, b } = pair();
    transmit(a, frame(MAC_B, MAC_A, 20));
    await until(() => b.nic.stats.rxNoBuffers === 1, 'the drop');
    expect(b.driver.queues[0].takeUsed()).toEqual([]);
    expect(b.driver.readIsr()).toBe(0);
    postRx(b, 1);
    transmit(a, frame(MAC_B, MAC_A, 21), false, TXBUF + 0x1000);
    await until(() => b.nic.stats.rxFrames === 1, 'the next frame');
    expect(b.driver.queues[0].takeUsed()).toEqual([[0, VIRTIO_NET_HDR_SIZE + 14 + 21]]);
  });

  it('completes bad transmit chains without sending them and without failing the device', () => {
    const { a, hub } = pair();
    const tx = a.driver.queues[1];
    a.mem.writeBytes(TXBUF, new Uint8Array(64));
    tx.addChain([{ addr: TXBUF, len: VIRTIO_NET_HDR_SIZE + 13 }]); // frame shorter than a header
    tx.addChain([{ addr: TXBUF, len: VIRTIO_NET_HDR_SIZE + NET_MAX_FRAME + 1 }]); // too long
    tx.addChain([{ addr: 0xfff_f000, len: 100 }]); // outside RAM
    tx.addChain([{ addr: TXBUF, len: 4 }]); // not even a virtio_net_hdr
    a.driver.notify(1);
    expect(tx.takeUsed()).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
    expect(a.nic.stats).toMatchObject({ txErrors: 4, txFrames: 0 });
    expect(hub.links[0].sent).toBe(0);
    expect(a.driver.status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
  });

  it('returns an unusable or too small receive buffer empty and counts it', async () => {
    const { a, b } = pair();
    const rx = b.driver.queues[0];
    rx.addChain([{ addr: RXBUF, len: VIRTIO_NET_HDR_SIZE + 20, write: true }]);
    rx.addChain([{ addr: 0xfff_f000, len: RX_BUFFER_SIZE, write: true }]);
    b.driver.notify(0);
    transmit(a, frame(MAC_B, MAC_A, 40));
    transmit(a, frame(MAC_B, MAC_A, 40), false, TXBUF + 0x1000);
    await until(() => b.nic.stats.rxErrors === 2, 'both buffers');
    expect(rx.takeUsed()).toEqual([
      [0, 0],
      [1, 0],
    ]);
    expect(b.nic.stats.rxFrames).toBe(0);
  });

  it('stops a queue whose ring is corrupt (NEEDS_RESET) instead of throwing', async () => {
    const { a, b } = pair();
    b.driver.queues[0].setAvailIdx(1000); // more than the queue size ahead
    transmit(a, frame(MAC_B, MAC_A, 40));
    await until(() => b.nic.stats.rxErrors === 1, 'the fault');
    expect(b.driver.status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(b.nic.lastFault).toMatch(/queue 0: available index/);
    expect(b.driver.readIsr() & VIRTIO_ISR_CONFIG).toBe(VIRTIO_ISR_CONFIG);
    // A reset and a new initialisation bring it back.
    b.driver.init(VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS, [RXQ, TXQ]);
    postRx(b, 1);
    transmit(a, frame(MAC_B, MAC_A, 40), false, TXBUF + 0x1000);
    await until(() => b.nic.stats.rxFrames === 1, 'the frame after the reset');
  });

  it('drops frames before DRIVER_OK and while the link is down; a link change interrupts the guest', async () => {
    const hub = new Hub();
    const a = machine(MAC_A, hub.link());
    const b = machine(MAC_B, hub.link());
    a.driver.init(VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS, [RXQ, TXQ]);
    b.driver.init(VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS, [RXQ, TXQ], false);
    // `receiving` (which paces an idle guest's time to its peers') follows DRIVER_OK and the link.
    expect([a.nic.receiving, b.nic.receiving]).toEqual([true, false]);
    transmit(a, frame(MAC_B, MAC_A, 40));
    await until(() => b.nic.stats.rxNotReady === 1, 'the drop before DRIVER_OK');

    b.driver.setStatus(7);
    expect(b.nic.receiving).toBe(true);
    postRx(b, 2);
    b.nic.setLinkUp(false);
    expect(b.nic.receiving).toBe(false);
    expect(b.driver.config8(6)).toBe(0);
    expect(b.driver.readIsr()).toBe(VIRTIO_ISR_CONFIG);
    transmit(a, frame(MAC_B, MAC_A, 40), false, TXBUF + 0x1000);
    await until(() => b.nic.stats.rxNotReady === 2, 'the drop while down');
    transmit(b, frame(MAC_A, MAC_B, 40));
    expect(b.nic.stats.txRefused).toBe(1);

    b.nic.setLinkUp(true);
    expect(b.driver.config8(6)).toBe(1);
    transmit(a, frame(MAC_B, MAC_A, 40), false, TXBUF + 0x2000);
    await until(() => b.nic.stats.rxFrames === 1, 'the frame with the link up');
  });

  it('counts frames the link refuses and malformed frames from the link', () => {
    const { a, hub } = pair();
    hub.links[0].refuse = true;
    transmit(a, frame(MAC_B, MAC_A, 40));
    expect(a.nic.stats).toMatchObject({ txRefused: 1, txFrames: 0 });
    postRx(a, 1);
    a.nic.receive(new Uint8Array(13));
    a.nic.receive(new Uint8Array(NET_MAX_FRAME + 1));
    expect(a.nic.stats.rxMalformed).toBe(2);
    expect(a.driver.queues[0].takeUsed()).toEqual([]);
  });

  it('refuses a malformed MAC address at construction', () => {
    expect(() => machine('52:54:00:00:00', new Hub().link())).toThrow(/invalid MAC address/);
  });
});
