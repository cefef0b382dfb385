import { createInProcessBus, createNatsBus, vmSubject, type Bus } from '@plex86/bus';
import { ConsoleOutput } from '@plex86/proto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { startConsoleBackend, type ConsoleBackend, type ConsoleEndpoint } from '../src/index.js';
import { FakeMonitorConsole } from './fake-monitor.js';

const natsUrl = inject('natsUrl');

const BUSES: [string, () => Promise<Bus>][] = [
  ['in-process bus', () => Promise.resolve(createInProcessBus())],
  ['NATS', () => createNatsBus({ servers: natsUrl, name: 'hal-console-test' })],
];

/** An endpoint a test types into and reads from. */
class MemoryEndpoint implements ConsoleEndpoint {
  readonly description = 'memory';
  output: number[] = [];
  input: ((bytes: Uint8Array) => void) | null = null;
  quit: (() => void) | null = null;
  closed = false;
  start(input: (bytes: Uint8Array) => void, quit: () => void): void {
    this.input = input;
    this.quit = quit;
  }
  write(bytes: Uint8Array): void {
    this.output.push(...bytes);
  }
  type(bytes: Uint8Array | string): void {
    this.input?.(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
  }
  text(): string {
    return new TextDecoder().decode(new Uint8Array(this.output));
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function pattern(length: number, seed: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (i * 31 + seed) & 0xff;
  return data;
}

let vmCounter = 0;

describe.each(BUSES)('console backend over the %s', (_name, makeBus) => {
  let bus: Bus;
  let monitor: FakeMonitorConsole;
  let endpoint: MemoryEndpoint;
  let backend: ConsoleBackend;
  let log: string[];
  let vm: string;

  beforeEach(async () => {
    bus = await makeBus();
    vm = `vm${process.pid}x${++vmCounter}`;
    monitor = await new FakeMonitorConsole(bus, vm, '0').start();
    endpoint = new MemoryEndpoint();
    log = [];
    backend = startConsoleBackend(bus, {
      vm,
      endpoint,
      logger: { warn: (m) => log.push(m), error: (m) => log.push(m) },
      requestTimeoutMs: 200,
    });
    await bus.flush();
  });

  afterEach(async () => {
    await backend.stop();
    await monitor.stop();
    await bus.close();
  });

  it('writes output chunks in order', async () => {
    let expected = '';
    for (let i = 0; i < 200; i++) {
      const line = `line ${i}\r\n`;
      expected += line;
      monitor.output(line);
    }
    await until(() => backend.output.chunks === 200, 'all chunks');
    expect(endpoint.text()).toBe(expected);
    expect(backend.output).toMatchObject({ chunks: 200, bytes: expected.length, lostChunks: 0, outOfOrder: 0 });
  });

  it('reports gaps in the sequence once, drops late chunks and follows a restart of the VM', async () => {
    monitor.output('a', 1);
    monitor.output('b', 2);
    monitor.output('e', 5); // 3 and 4 lost
    monitor.output('d', 4); // late
    monitor.output('f', 6);
    monitor.output('A', 1); // started again
    monitor.output('B', 2);
    monitor.output('x', 2000);
    monitor.output('C', 3); // started again, chunks 1 and 2 lost
    await until(() => backend.output.chunks === 8, 'the chunks');
    expect(endpoint.text()).toBe('abefABxC');
    expect(backend.output).toMatchObject({ lostChunks: 2 + 1997, outOfOrder: 1, restarts: 2 });
    expect(log).toEqual([
      'console 0: 2 output chunks lost (sequence 3..4)',
      'console 0: 1997 output chunks lost (sequence 3..1999)',
    ]);
  });

  it('drops malformed output with a log line and carries on', async () => {
    const subject = vmSubject(vm, 'console', '0', 'out');
    bus.publish(subject, new Uint8Array([0x0a, 0xff, 0xff, 0xff]));
    bus.publish(
      subject,
      ConsoleOutput.encode({ consoleId: '7', sequence: 1n, data: new Uint8Array([1]), virtualTimeNs: 0n }).finish(),
    );
    monitor.output('ok', 1);
    await until(() => backend.output.chunks === 1, 'the good chunk');
    expect(endpoint.text()).toBe('ok');
    expect(backend.output.malformed).toBe(2);
    expect(log[0]).toMatch(/console 0: dropped undecodable output/);
  });

  it('sends typed input through a full guest buffer: nothing lost, nothing twice, new ids for the rest', async () => {
    const data = pattern(10_000, 3);
    endpoint.type(data.subarray(0, 3000));
    endpoint.type(data.subarray(3000));
    // The guest reads slowly; the backend keeps retrying what did not fit.
    await until(() => {
      monitor.guestReads(700);
      return monitor.readByGuest.length === data.length;
    }, 'the guest to read everything');
    expect(new Uint8Array(monitor.readByGuest)).toEqual(data);
    await backend.inputIdle();
    expect(monitor.partial).toBeGreaterThan(0);
    expect(backend.input.retries).toBeGreaterThan(0);
    expect(backend.input.sent).toBe(data.length);
    expect(new Set(monitor.requestIds).size).toBe(monitor.requestIds.length);
  });

  it('repeats a timed-out request with the same id, so it is queued once', async () => {
    monitor.delayNextReplyMs = 600; // longer than the backend's 200 ms timeout
    endpoint.type('echo hi\r');
    await until(() => monitor.requestIds.length >= 2, 'the repeated request');
    await backend.inputIdle();
    expect(monitor.requestIds[1]).toBe(monitor.requestIds[0]);
    monitor.guestReads(100);
    expect(new TextDecoder().decode(new Uint8Array(monitor.readByGuest))).toBe('echo hi\r');
  });

  it('keeps input while the VM is not running and sends it once it runs', async () => {
    monitor.running = false;
    endpoint.type('root\r');
    await until(() => monitor.requestIds.length >= 2, 'a refused request and a retry');
    monitor.running = true;
    await backend.inputIdle();
    monitor.guestReads(100);
    expect(new TextDecoder().decode(new Uint8Array(monitor.readByGuest))).toBe('root\r');
    expect(new Set(monitor.requestIds).size).toBe(monitor.requestIds.length);
  });
});

describe('console backend without a monitor', () => {
  it('keeps at most the pending limit of input and drops the rest with a log line', async () => {
    const bus = createInProcessBus();
    const endpoint = new MemoryEndpoint();
    const log: string[] = [];
    const backend = startConsoleBackend(bus, {
      vm: 'lonely',
      endpoint,
      maxPendingInput: 100,
      logger: { warn: (m) => log.push(m), error: (m) => log.push(m) },
    });
    try {
      endpoint.type(pattern(60, 1));
      endpoint.type(pattern(90, 2));
      expect(backend.input.dropped).toBe(50);
      expect(log.some((l) => /dropped 50 input bytes/.test(l))).toBe(true);
      // A monitor that appears later gets the kept bytes.
      const monitor = await new FakeMonitorConsole(bus, 'lonely', '0').start();
      await backend.inputIdle();
      monitor.guestReads(1000);
      expect(new Uint8Array(monitor.readByGuest)).toEqual(
        new Uint8Array([...pattern(60, 1), ...pattern(90, 2).subarray(0, 40)]),
      );
      await monitor.stop();
    } finally {
      await backend.stop();
      await bus.close();
    }
    expect(endpoint.closed).toBe(true);
  });
});
