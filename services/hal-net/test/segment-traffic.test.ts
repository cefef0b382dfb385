import { BusError, createInProcessBus, createNatsBus, methodClient, type Bus } from '@plex86/bus';
import { EthernetFrame, ErrorCode, NetSegmentServiceDefinition } from '@plex86/proto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { framesSubject, parseMac, SegmentPort, startNetService, type NetServiceHandle } from '../src/index.js';

const natsUrl = inject('natsUrl');

const BUSES: [string, () => Promise<Bus>][] = [
  ['in-process bus', () => Promise.resolve(createInProcessBus())],
  ['NATS', () => createNatsBus({ servers: natsUrl, name: 'hal-net-test' })],
];

const MAC_A = '52:54:00:00:00:0a';
const MAC_B = '52:54:00:00:00:0b';
const MAC_C = '52:54:00:00:00:0c';
const BROADCAST = 'ff:ff:ff:ff:ff:ff';

/** An Ethernet frame to `dst` from `src` whose payload starts with `tag` and is `length` bytes long overall. */
function frame(dst: string, src: string, tag: number, length = 64): Uint8Array {
  const f = new Uint8Array(length);
  f.set(parseMac(dst), 0);
  f.set(parseMac(src), 6);
  f[12] = 0x08; // IPv4 EtherType
  f[13] = 0x00;
  if (length > 14) f[14] = tag;
  return f;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function capture() {
  const lines: string[] = [];
  return { lines, logger: { warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) } };
}

describe.each(BUSES)('virtual Ethernet segment over the %s', (_name, makeBus) => {
  let bus: Bus;
  let service: NetServiceHandle;
  let serviceLog: ReturnType<typeof capture>;
  const ports: SegmentPort[] = [];
  let segment: string;
  let n = 0;

  beforeEach(async () => {
    bus = await makeBus();
    serviceLog = capture();
    // A fresh segment per test: the NATS server is shared by the whole run.
    segment = `lan${process.pid}x${++n}`;
    service = await startNetService(bus, { logger: serviceLog.logger });
  });

  afterEach(async () => {
    for (const p of ports.splice(0)) await p.detach().catch(() => undefined);
    await service.stop();
    await bus.close();
  });

  async function port(vm: string, mac: string, extra: { promiscuous?: boolean } = {}) {
    const received: number[] = [];
    const log = capture();
    const p = await SegmentPort.attach(bus, {
      segment,
      vm,
      nic: 'net0',
      mac,
      onFrame: (f) => received.push(f[14] ?? -1),
      logger: log.logger,
      ...extra,
    });
    ports.push(p);
    return { port: p, received, log };
  }

  it('two interfaces exchange unicast and broadcast frames; nobody gets its own or others’ unicast', async () => {
    const a = await port('vm1', MAC_A);
    const b = await port('vm2', MAC_B);
    const c = await port('vm3', MAC_C);
    expect(a.port.mtu).toBe(1500);
    expect([a.port.memberCount, b.port.memberCount, c.port.memberCount]).toEqual([1, 2, 3]);

    expect(a.port.send(frame(MAC_B, MAC_A, 1))).toBe(true);
    expect(b.port.send(frame(MAC_A, MAC_B, 2))).toBe(true);
    expect(a.port.send(frame(BROADCAST, MAC_A, 3))).toBe(true);
    expect(b.port.send(frame(MAC_B, MAC_B, 4))).toBe(true); // to itself: nobody else takes it
    await until(() => a.port.stats.own === 2 && b.port.stats.own === 2 && c.port.stats.filtered === 3, 'all frames');

    expect(b.received).toEqual([1, 3]);
    expect(a.received).toEqual([2]);
    expect(c.received).toEqual([3]);
    expect(a.port.stats).toMatchObject({ sent: 2, delivered: 1, filtered: 1, own: 2, lost: 0, malformed: 0 });
    expect(c.port.stats).toMatchObject({ sent: 0, delivered: 1, filtered: 3, own: 0 });
    expect(service.traffic(segment)).toMatchObject({ frames: 4, bytes: 4 * 64, malformed: 0, fromStrangers: 0 });
    expect(service.members(segment).map((m) => m.mac)).toEqual([MAC_A, MAC_B, MAC_C]);
  });

  it('a promiscuous interface sees unicast frames for others', async () => {
    const a = await port('vm1', MAC_A);
    await port('vm2', MAC_B);
    const sniffer = await port('vm3', MAC_C, { promiscuous: true });
    a.port.send(frame(MAC_B, MAC_A, 7));
    await until(() => sniffer.received.length === 1, 'the sniffed frame');
    expect(sniffer.received).toEqual([7]);
  });

  it('drops frames of a bad length and undecodable ones with a log line, and keeps working', async () => {
    const a = await port('vm1', MAC_A);
    const b = await port('vm2', MAC_B);
    expect(a.port.send(new Uint8Array(13))).toBe(false);
    expect(a.port.send(new Uint8Array(1523))).toBe(false);
    expect(a.port.stats.sendRejected).toBe(2);
    expect(a.port.send(frame(MAC_B, MAC_A, 1, 1522))).toBe(true);

    // A misbehaving publisher that skips the checks.
    const subject = framesSubject(segment);
    const raw = (f: Uint8Array, sequence: bigint) =>
      bus.publish(subject, EthernetFrame.encode({ frame: f, sourceVm: 'rogue', sourceNic: 'eth9', sequence }).finish());
    raw(new Uint8Array(13), 1n);
    raw(new Uint8Array(1523).fill(0xff), 2n);
    bus.publish(subject, new Uint8Array([0xff, 0xff, 0xff, 0x07]));
    a.port.send(frame(BROADCAST, MAC_A, 2, 14 + 1));

    await until(() => b.received.length === 2 && b.port.stats.malformed === 3, 'the good frames and the bad ones');
    expect(b.received).toEqual([1, 2]);
    expect(b.log.lines.some((l) => /dropped a frame from rogue\/eth9: 13 bytes is shorter/.test(l))).toBe(true);
    await until(() => service.traffic(segment).malformed === 3, 'the service to count the bad frames');
    expect(serviceLog.lines.join('\n')).toMatch(/segment .*: dropped a frame from rogue\/eth9/);
    expect(service.traffic(segment).frames).toBe(2);
  });

  it('counts lost and repeated frames by sequence number, per sender', async () => {
    const b = await port('vm2', MAC_B);
    const subject = framesSubject(segment);
    const send = (sourceVm: string, sequence: bigint, tag: number) =>
      bus.publish(
        subject,
        EthernetFrame.encode({ frame: frame(MAC_B, MAC_A, tag), sourceVm, sourceNic: 'net0', sequence }).finish(),
      );
    send('vm1', 5n, 1); // first seen: earlier frames predate us
    send('vm1', 6n, 2);
    send('vm9', 1n, 3); // another sender has its own numbering
    send('vm1', 9n, 4); // 7 and 8 lost
    send('vm1', 8n, 5); // late: dropped
    send('vm9', 2n, 6);
    send('vm1', 1n, 7); // the sender started again
    send('vm1', 2n, 8);
    await until(() => b.received.length === 7, 'the frames in sequence');
    expect(b.received).toEqual([1, 2, 3, 4, 6, 7, 8]);
    expect(b.port.stats).toMatchObject({ lost: 2, outOfOrder: 1 });
    expect(service.traffic(segment).fromStrangers).toBe(8);
    expect(serviceLog.lines.join('\n')).toMatch(/vm1\/net0, which is not attached/);
  });

  it('enforces the membership rules and answers a retried request id the same way', async () => {
    const client = methodClient(bus, `plex86.net.${segment}`, NetSegmentServiceDefinition);
    const a = await port('vm1', MAC_A);
    const err = await client
      .attachNic({ requestId: 'r1', segment, vmId: 'vm2', nicId: 'net0', mac: MAC_A })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe(ErrorCode.ERROR_CODE_FAILED_PRECONDITION);
    expect((err as BusError).message).toContain('vm1/net0');

    const wrongSegment = await client
      .attachNic({ requestId: 'r2', segment: 'elsewhere', vmId: 'vm2', nicId: 'net0', mac: MAC_B })
      .catch((e: unknown) => e);
    expect((wrongSegment as BusError).code).toBe(ErrorCode.ERROR_CODE_BAD_REQUEST);

    const detach = { requestId: 'd1', segment, vmId: 'vm1', nicId: 'net0' };
    expect(await client.detachNic(detach)).toEqual({ memberCount: 0 });
    expect(await client.detachNic(detach)).toEqual({ memberCount: 0 });
    const again = await client.detachNic({ ...detach, requestId: 'd2' }).catch((e: unknown) => e);
    expect((again as BusError).code).toBe(ErrorCode.ERROR_CODE_NOT_FOUND);
    ports.splice(ports.indexOf(a.port), 1);
  });

  it('refuses to attach without a segment service', async () => {
    await service.stop();
    const err = await SegmentPort.attach(bus, { segment, vm: 'vm1', nic: 'net0', mac: MAC_A, timeoutMs: 500 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe(ErrorCode.ERROR_CODE_NO_RESPONDERS);
  });
});
