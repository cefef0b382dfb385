import { connect, type Socket } from 'node:net';
import { BusError, createInProcessBus, createNatsBus, serveMethods, type Bus } from '@plex86/bus';
import { BreakpointKind, ErrorCode, SnapshotServiceDefinition, StopReason, WatchKind } from '@plex86/proto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { serveFakeMonitor } from '../test/fake-monitor.js';
import { FakeTarget } from '../test/fake-target.js';
import { frame, hexText, ReplyReader } from '../test/rsp-client.js';
import { busDebugTarget, type BusDebugTarget } from './bus-target.js';
import { parseListenAddress, startDebugger, type DebuggerServer } from './server.js';

/** A GDB stand-in on a real socket. */
class Client {
  readonly reader = new ReplyReader();
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.reader.push(d));
    socket.on('close', () => (this.closed = true));
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  send(text: string): void {
    this.socket.write(frame(text));
  }

  ask(text: string): Promise<string> {
    this.send(text);
    return this.reader.nextPacket();
  }

  async waitClosed(): Promise<void> {
    for (let i = 0; i < 200 && !this.closed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(this.closed).toBe(true);
  }

  end(): void {
    this.socket.end();
  }
}

describe('parseListenAddress', () => {
  it('reads tcp:HOST:PORT, HOST:PORT and bracketed IPv6', () => {
    expect(parseListenAddress('tcp:127.0.0.1:1234')).toEqual({ host: '127.0.0.1', port: 1234 });
    expect(parseListenAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseListenAddress('[::1]:99')).toEqual({ host: '::1', port: 99 });
    expect(parseListenAddress(':5')).toEqual({ host: '127.0.0.1', port: 5 });
  });

  it('refuses addresses without a usable port', () => {
    expect(() => parseListenAddress('tcp:localhost')).toThrow(/tcp:HOST:PORT/);
    expect(() => parseListenAddress('localhost:99999')).toThrow(/bad port/);
    expect(() => parseListenAddress('localhost:x')).toThrow(/bad port/);
  });
});

function describeDebuggerOverBus(name: string, makeBus: () => Promise<Bus> | Bus): void {
  describe(`debugger over TCP and the ${name} bus`, () => {
    let bus: Bus;
    let fake: FakeTarget;
    let stopMonitor: () => Promise<void>;
    let target: BusDebugTarget;
    let server: DebuggerServer;
    const vmId = `dbg${Math.floor(Math.random() * 1e9)}`;
    const clients: Client[] = [];
    const log: string[] = [];

    const open = async () => {
      const c = await Client.open(server.address.port);
      clients.push(c);
      return c;
    };

    beforeEach(async () => {
      bus = await makeBus();
      fake = new FakeTarget();
      stopMonitor = await serveFakeMonitor(bus, vmId, fake);
      target = busDebugTarget(bus, vmId, { timeoutMs: 5000 });
      server = await startDebugger({ listen: 'tcp:127.0.0.1:0', target, log: (l) => log.push(l) });
    });

    afterEach(async () => {
      for (const c of clients.splice(0)) c.socket.destroy();
      await server.close();
      target.close();
      await stopMonitor();
      await bus.close();
    });

    it('serves a whole debugging conversation', async () => {
      const gdb = await open();
      expect(await gdb.ask('qSupported:swbreak+;hwbreak+')).toContain('PacketSize=4000');
      expect(await gdb.ask('QStartNoAckMode')).toBe('OK');
      expect(await gdb.ask('?')).toBe('T05thread:1;');
      expect(await gdb.ask('p0')).toBe('44332211');
      fake.memory.set([0xde, 0xad], 0x30);
      expect(await gdb.ask('m30,2')).toBe('dead');
      expect(await gdb.ask('M40,2:beef')).toBe('OK');
      expect([...fake.memory.subarray(0x40, 0x42)]).toEqual([0xbe, 0xef]);
      expect(await gdb.ask('Z0,100,1')).toBe('OK');
      expect(await gdb.ask('Z2,40,2')).toBe('OK');
      expect(await gdb.ask('s')).toBe('T05thread:1;');
      expect(fake.registers.eip).toBe(0x101);

      gdb.send('c');
      for (let i = 0; i < 200 && fake.halted; i++) await new Promise((r) => setTimeout(r, 5));
      expect(fake.halted).toBe(false);
      fake.stopNow(StopReason.STOP_REASON_BREAKPOINT, {
        $case: 'breakpoint',
        value: { kind: BreakpointKind.BREAKPOINT_KIND_SOFTWARE, address: 0x100n },
      });
      expect(await gdb.reader.nextPacket()).toBe('T05swbreak:;thread:1;');

      gdb.send('c');
      for (let i = 0; i < 200 && fake.halted; i++) await new Promise((r) => setTimeout(r, 5));
      gdb.socket.write(Buffer.from([0x03]));
      expect(await gdb.reader.nextPacket()).toBe('T02thread:1;');

      const stats = await gdb.ask(`qRcmd,${hexText('stats')}`);
      expect(Buffer.from(stats.slice(1), 'hex').toString()).toMatch(/vm state\s+VM_STATE_PAUSED/);
      expect(await gdb.reader.nextPacket()).toBe('OK');
      const phys = await gdb.ask(`qRcmd,${hexText('phys 0x30 2')}`);
      expect(Buffer.from(phys.slice(1), 'hex').toString()).toMatch(/^00000030 {2}de ad/);
      expect(await gdb.reader.nextPacket()).toBe('OK');
      // monitor sbe through GetSbePage; the monitor's NOT_FOUND reads as an unmapped address.
      const sbe = await gdb.ask(`qRcmd,${hexText('sbe 0x1234')}`);
      expect(Buffer.from(sbe.slice(1), 'hex').toString()).toBe(
        'page 00101000 (linear 00001000): 2 marked bytes\n00101010  81 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n',
      );
      expect(await gdb.reader.nextPacket()).toBe('OK');
      const unmapped = await gdb.ask(`qRcmd,${hexText('sbe 0x3000')}`);
      expect(Buffer.from(unmapped.slice(1), 'hex').toString()).toBe('linear address 00003000 is not mapped\n');
      expect(await gdb.reader.nextPacket()).toBe('E01');

      expect(await gdb.ask('D')).toBe('OK');
      expect(fake.breakpoints.size).toBe(0);
      expect(fake.watchpoints.size).toBe(0);
      gdb.end();
      await gdb.waitClosed();
    });

    it('refuses a second client politely while the first keeps working, then accepts a new one', async () => {
      const first = await open();
      expect(await first.ask('qC')).toBe('QC1');
      expect(server.attached).toBe(true);
      const second = await open();
      expect(await second.ask('qSupported')).toBe('E.another debugger is attached to this VM');
      await second.waitClosed();
      expect(log.some((l) => l.includes('refused'))).toBe(true);
      expect(await first.ask('p8')).toBe('00010000');
      first.end();
      await first.waitClosed();
      for (let i = 0; i < 200 && server.attached; i++) await new Promise((r) => setTimeout(r, 5));
      expect(fake.calls).toContain('detach true');
      const third = await open();
      expect(await third.ask('qC')).toBe('QC1');
    });

    it('survives garbage, bad checksums and overlong packets', async () => {
      const gdb = await open();
      gdb.socket.write(Buffer.from('garbage\x00\xff$g#00'));
      gdb.socket.write(Buffer.from(`$M0,3000:${'00'.repeat(0x3000)}#00`));
      gdb.socket.write(frame(`M0,2100:${'00'.repeat(0x2100)}`));
      expect(await gdb.reader.nextPacket()).toBe('E01');
      const acks = gdb.reader.history.map((r) => r.kind);
      expect(acks).toContain('-');
      expect(await gdb.ask('qC')).toBe('QC1');
    });

    it('kills the VM on k', async () => {
      const gdb = await open();
      gdb.send('k');
      await gdb.waitClosed();
      for (let i = 0; i < 200 && !fake.calls.includes('stopVm'); i++) await new Promise((r) => setTimeout(r, 5));
      expect(fake.calls).toContain('detach false');
      expect(fake.calls).toContain('stopVm');
    });

    it('reports monitor errors from the bus as error replies', async () => {
      const gdb = await open();
      expect(await gdb.ask('z0,1234,1')).toBe('E05');
      fake.unsupportedWatchKinds.add(WatchKind.WATCH_KIND_ACCESS);
      expect(await gdb.ask('Z4,40,4')).toBe('');
      expect(log.some((l) => l.includes('no such breakpoint'))).toBe(true);
    });
  });
}

describeDebuggerOverBus('in-process', () => createInProcessBus());
const natsUrl = inject('natsUrl');
describeDebuggerOverBus('nats', () => createNatsBus({ servers: natsUrl, name: 'debugger-test' }));

describe('busDebugTarget without a VM control service', () => {
  it('still answers monitor stats, saying the VM status is unavailable', async () => {
    const bus = createInProcessBus();
    const fake = new FakeTarget();
    const stopMonitor = await serveFakeMonitor(bus, 'vmnoctl', fake, { control: false });
    const target = busDebugTarget(bus, 'vmnoctl');
    try {
      const stats = await target.monitor?.stats?.();
      expect(stats?.[0]?.[0]).toBe('vm status');
      expect(stats?.[0]?.[1]).toMatch(/^unavailable: .*no responders/i);
      // k: letting go without resuming is the whole kill when nothing else serves the VM.
      await target.kill();
      expect(fake.calls).toContain('detach false');
    } finally {
      target.close();
      await stopMonitor();
      await bus.close();
    }
  });
});

describe('busDebugTarget with monitor capabilities of its own', () => {
  it('serves monitor sbe and snapshot from them and merges their stats with the VM status', async () => {
    const bus = createInProcessBus();
    const fake = new FakeTarget();
    const stopMonitor = await serveFakeMonitor(bus, 'vmcaps', fake);
    const saved: string[] = [];
    const target = busDebugTarget(bus, 'vmcaps', {
      monitor: {
        sbePage: async (address) => {
          const attributes = new Uint8Array(4096);
          attributes[address & 0xfff] = 0x40;
          return { physicalPage: address & ~0xfff, attributes };
        },
        saveSnapshot: async (path) => void saved.push(path),
        stats: async () => [['sbe blocks', '7']],
      },
    });
    const server = await startDebugger({ listen: 'tcp:127.0.0.1:0', target });
    const gdb = await Client.open(server.address.port);
    try {
      const monitor = async (command: string) => {
        const out = await gdb.ask(`qRcmd,${hexText(command)}`);
        expect(await gdb.reader.nextPacket()).toBe('OK');
        return Buffer.from(out.slice(1), 'hex').toString();
      };
      expect(await monitor('sbe 0x1234')).toContain('00001230  00 00 00 00 40');
      expect(await monitor('snapshot save /tmp/x.snap')).toContain('saved');
      expect(saved).toEqual(['/tmp/x.snap']);
      const stats = await monitor('stats');
      expect(stats).toMatch(/sbe blocks\s+7/);
      expect(stats).toMatch(/vm instructions\s+1234/);
    } finally {
      gdb.socket.destroy();
      await server.close();
      target.close();
      await stopMonitor();
      await bus.close();
    }
  });
});

describe('monitor snapshot save over the bus', () => {
  it("asks the VM's SnapshotService and reports its refusal", async () => {
    const bus = createInProcessBus();
    const fake = new FakeTarget();
    const stopMonitor = await serveFakeMonitor(bus, 'vmsnap', fake);
    const requests: { path: string; stop: boolean }[] = [];
    const service = await serveMethods(
      bus,
      { name: 'test-snapshot', version: '0.0.1', queue: '' },
      'plex86.vmsnap.snapshot',
      SnapshotServiceDefinition,
      {
        saveSnapshot: (request, context) => {
          requests.push({ path: request.path, stop: request.stop });
          if (!request.path.startsWith('/')) {
            throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, context.subject, 'the snapshot path must be absolute');
          }
          return { info: undefined, pauseMs: 3 };
        },
      },
    );
    const target = busDebugTarget(bus, 'vmsnap');
    const server = await startDebugger({ listen: 'tcp:127.0.0.1:0', target });
    const gdb = await Client.open(server.address.port);
    try {
      const monitor = async (command: string) => {
        const out = await gdb.ask(`qRcmd,${hexText(command)}`);
        if (out.startsWith('O')) {
          await gdb.reader.nextPacket();
          return Buffer.from(out.slice(1), 'hex').toString();
        }
        return out;
      };
      expect(await monitor('snapshot save /tmp/vm.snap')).toBe('snapshot saved to /tmp/vm.snap\n');
      expect(await monitor('snapshot save vm.snap')).toMatch(/must be absolute/);
      expect(requests).toEqual([
        { path: '/tmp/vm.snap', stop: false },
        { path: 'vm.snap', stop: false },
      ]);
    } finally {
      gdb.socket.destroy();
      await server.close();
      target.close();
      await service.stop();
      await stopMonitor();
      await bus.close();
    }
  });
});
