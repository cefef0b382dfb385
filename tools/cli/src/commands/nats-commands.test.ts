import { createNatsBus, type Bus } from '@plex86/bus';
import { ConsoleOutput } from '@plex86/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '../testing.js';

// These run against the real nats-server the test setup starts on a free loopback port.
describe('commands on a NATS deployment', () => {
  let bus: Bus;
  const url = inject('natsUrl');

  beforeAll(async () => {
    bus = await createNatsBus({ servers: url, name: 'cli-test' });
  });
  afterAll(async () => {
    await bus.close();
  });

  it('services lists a registered service with its endpoint and request count', async () => {
    const service = await bus.addService({ name: 'cli-test-echo', version: '1.2.3', description: 'echoes' }, [
      { name: 'echo', subject: 'plex86.test.echo', handler: (m) => ({ data: m.data }) },
    ]);
    try {
      await bus.request('plex86.test.echo', new Uint8Array([1, 2, 3]));
      await bus.request('plex86.test.echo', new Uint8Array([4]));
      const io = captureIo();
      expect(await main(['services', '--nats', url], io)).toBe(0);
      const out = io.stdout();
      expect(out).toContain(`cli-test-echo 1.2.3  id ${service.id}  echoes`);
      expect(out).toMatch(/plex86\.test\.echo\s+echo\s+queue q\s+2 requests/);
    } finally {
      await service.stop();
    }
  });

  it('inspect prints published messages decoded by their type', async () => {
    const io = captureIo();
    const running = main(['inspect', '--nats', url, '--count', '2', 'plex86.vm9.console.>'], io);
    await until(() => io.stderr().includes('listening on'));
    const chunk = ConsoleOutput.encode(
      ConsoleOutput.fromPartial({ consoleId: '0', sequence: 7n, data: new Uint8Array([0x68, 0x69]) }),
    ).finish();
    bus.publish('plex86.vm9.console.0.out', chunk, { type: 'plex86.v1.ConsoleOutput' });
    bus.publish('plex86.vm9.console.0.out', new Uint8Array([0xff, 0xff, 0xff]), { type: 'plex86.v1.ConsoleOutput' });
    bus.publish('plex86.vm8.console.0.out', chunk, { type: 'plex86.v1.ConsoleOutput' });
    expect(await running).toBe(0);
    const lines = io.stdout().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      / plex86\.vm9\.console\.0\.out plex86\.v1\.ConsoleOutput \{.*"sequence":"7".*"data":"6869"/,
    );
    expect(lines[1]).toContain('(undecodable:');
  });

  it('fails clearly when no server answers', async () => {
    const io = captureIo();
    expect(await main(['services', '--nats', 'nats://127.0.0.1:1'], io)).toBe(1);
    expect(io.stderr()).toContain('cannot connect to NATS at nats://127.0.0.1:1');
  });

  it('requires --nats', async () => {
    const io = captureIo();
    expect(await main(['services'], io)).toBe(2);
    expect(io.stderr()).toContain('--nats URL is required');
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
