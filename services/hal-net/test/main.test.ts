import { createNatsBus } from '@plex86/bus';
import { describe, expect, inject, it } from 'vitest';
import { main } from '../src/main.js';
import { SegmentPort } from '../src/index.js';

function captureIo() {
  let out = '';
  let err = '';
  return {
    io: { out: (t: string) => void (out += t), err: (t: string) => void (err += t) },
    out: () => out,
    err: () => err,
  };
}

describe('plex86 service net', () => {
  it('serves a segment over NATS until stopped', async () => {
    const natsUrl = inject('natsUrl');
    const stop = new AbortController();
    const cap = captureIo();
    const running = main(['--nats', natsUrl, '--segment', 'svc-lan'], cap.io, stop.signal);
    const bus = await createNatsBus({ servers: natsUrl, name: 'net-main-test' });
    try {
      for (let i = 0; i < 200 && !cap.out().includes('ready'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(cap.out()).toContain('plex86 net service ready: segment svc-lan on plex86.net.svc-lan');
      const port = await SegmentPort.attach(bus, {
        segment: 'svc-lan',
        vm: 'vm1',
        nic: 'net0',
        mac: '52:54:00:00:01:01',
      });
      expect(port.memberCount).toBe(1);
      await port.detach();
      // Only the named segment is served.
      await expect(
        SegmentPort.attach(bus, { segment: 'other', vm: 'vm1', nic: 'net0', mac: '52:54:00:00:01:01', timeoutMs: 500 }),
      ).rejects.toThrow(/no responders/);
    } finally {
      stop.abort();
      await bus.close();
    }
    expect(await running).toBe(0);
    expect(cap.out()).toContain('plex86 net service stopped');
  });

  it('explains bad usage', async () => {
    const cap = captureIo();
    expect(await main(['--segment', 'x'], cap.io)).toBe(2);
    expect(cap.err()).toContain('--nats URL is required');
    const bad = captureIo();
    expect(await main(['--nats', inject('natsUrl'), '--segment', 'a.b'], bad.io)).toBe(1);
    expect(bad.err()).toMatch(/invalid segment name "a\.b"/);
  });
});
