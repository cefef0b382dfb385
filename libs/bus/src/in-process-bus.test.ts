import { ErrorCode } from '@plex86/proto';
import { describe, expect, it, vi } from 'vitest';
import { BusError } from './errors.js';
import { createInProcessBus } from './in-process-bus.js';
import type { BusLogger } from './logger.js';
import { describeBusConformance } from './testing/conformance.js';

describeBusConformance('in-process', () => createInProcessBus());

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function recordingLogger(): BusLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

describe('in-process bus', () => {
  it('hands subscribers and endpoints the very same payload bytes', async () => {
    const bus = createInProcessBus();
    const payload = new Uint8Array([1, 2, 3]);
    const seen: Uint8Array[] = [];
    bus.subscribe('p.x', (m) => void seen.push(m.data));
    await bus.addService({ name: 'same', version: '1.0.0' }, [
      { name: 'e', subject: 'p.req', handler: (r) => (seen.push(r.data), { data: r.data }) },
    ]);
    bus.publish('p.x', payload);
    const reply = await bus.request('p.req', payload);
    expect(seen[0]).toBe(payload);
    expect(seen[1]).toBe(payload);
    expect(reply.data).toBe(payload);
    await bus.close();
  });

  it('delivers asynchronously, never inside publish()', async () => {
    const bus = createInProcessBus();
    let delivered = 0;
    bus.subscribe('p.async', () => void delivered++);
    bus.publish('p.async', new Uint8Array());
    expect(delivered).toBe(0);
    await bus.flush();
    expect(delivered).toBe(1);
    await bus.close();
  });

  it('keeps delivering after a subscriber throws, and logs one line per failure', async () => {
    const logger = recordingLogger();
    const bus = createInProcessBus({ logger });
    const got: number[] = [];
    bus.subscribe('p.err', (m) => {
      if (m.data[0] === 1) throw new Error('subscriber bug');
      got.push(m.data[0] ?? -1);
    });
    bus.subscribe('p.err', async (m) => {
      if (m.data[0] === 2) throw new Error('async subscriber bug');
    });
    for (const n of [0, 1, 2, 3]) bus.publish('p.err', new Uint8Array([n]));
    await vi.waitFor(() => expect(logger.lines).toHaveLength(2));
    expect(got).toEqual([0, 2, 3]);
    expect(logger.lines).toEqual([
      'error subscriber on p.err failed: subscriber bug',
      'error subscriber on p.err failed: async subscriber bug',
    ]);
    await bus.close();
  });

  it('answers an endpoint that throws a non-BusError with INTERNAL and logs it', async () => {
    const logger = recordingLogger();
    const bus = createInProcessBus({ logger });
    await bus.addService({ name: 'buggy', version: '1.0.0' }, [
      {
        name: 'e',
        subject: 'p.bug',
        handler: () => {
          throw new RangeError('index 9 out of range');
        },
      },
      { name: 'nothing', subject: 'p.nothing', handler: () => undefined as never },
    ]);
    const err = await bus.request('p.bug', new Uint8Array()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe(ErrorCode.ERROR_CODE_INTERNAL);
    expect((err as BusError).message).toBe('internal error: index 9 out of range');
    const none = await bus.request('p.nothing', new Uint8Array()).catch((e: unknown) => e);
    expect((none as BusError).code).toBe(ErrorCode.ERROR_CODE_INTERNAL);
    expect(logger.lines).toEqual([
      'error service buggy endpoint e: handler failed on p.bug: index 9 out of range',
      'error service buggy endpoint nothing: handler returned no reply payload (expected { data: Uint8Array })',
    ]);
    await bus.close();
  });

  it('runs its timeout ticker only while requests are pending, so an idle bus lets the process exit', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const bus = createInProcessBus();
    await bus.addService({ name: 'idle', version: '1.0.0' }, [
      { name: 'e', subject: 'p.idle', handler: (r) => ({ data: r.data }) },
    ]);
    bus.subscribe('p.never', () => undefined);
    // Counts are compared within one synchronous step; the test runner's own timers come and go.
    let before = timers();
    const slow = bus.request('p.never', new Uint8Array(1), { timeoutMs: 20 }).catch((e: unknown) => e);
    expect(timers()).toBe(before + 1);
    expect(await slow).toBeInstanceOf(BusError);
    await sleep(50);
    before = timers();
    const quick = bus.request('p.idle', new Uint8Array(1));
    expect(timers(), 'the ticker stopped when nothing was pending and starts again').toBe(before + 1);
    await quick;
    await bus.close();
  });

  it('yields to timers while a long burst of messages is delivered', async () => {
    const bus = createInProcessBus();
    let delivered = 0;
    let deliveredWhenTimerFired = -1;
    bus.subscribe('p.burst', () => void delivered++);
    setTimeout(() => (deliveredWhenTimerFired = delivered), 0);
    const count = 20_000;
    for (let i = 0; i < count; i++) bus.publish('p.burst', new Uint8Array(1));
    await bus.flush();
    expect(delivered).toBe(count);
    expect(deliveredWhenTimerFired).toBeGreaterThanOrEqual(0);
    expect(deliveredWhenTimerFired).toBeLessThan(count);
    await bus.close();
  });
});
