import { randomBytes } from 'node:crypto';
import { Error as ProtoError, ErrorCode } from '@plex86/proto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Bus, BusMessage, BusService } from '../bus.js';
import { BusError, errorCodeName } from '../errors.js';
import type { BusLogger } from '../logger.js';
import { callMethod, methodClient, serveMethods } from '../typed.js';

/** Makes a fresh bus; the suite closes it after each test. */
export type BusFactory = () => Bus | Promise<Bus>;

/** A unary method over `plex86.v1.Error` messages, so the suite needs no test-only protobuf types. */
const ECHO_DEFINITION = {
  name: 'ConformanceEcho',
  fullName: 'plex86.test.ConformanceEcho',
  methods: {
    echo: {
      name: 'EchoError',
      requestType: ProtoError,
      requestStream: false,
      responseType: ProtoError,
      responseStream: false,
      options: {},
    },
  },
} as const;

const ERROR_TYPE = 'plex86.v1.Error';
const MESSAGE_WAIT = { timeout: 4000, interval: 5 };

function token(): string {
  return randomBytes(6).toString('hex');
}

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function decodeText(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/** Records log lines for assertions. */
function recordingLogger(): BusLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    warn: (message) => lines.push(`warn ${message}`),
    error: (message) => lines.push(`error ${message}`),
  };
}

async function expectBusError(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<BusError> {
  const err = await promise.then(
    () => expect.fail(`expected a BusError with code ${code}, but the call succeeded`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BusError);
  const busError = err as BusError;
  expect(busError.codeName, busError.message).toBe(errorCodeName(code));
  if (pattern) expect(busError.message).toMatch(pattern);
  return busError;
}

function expectThrowsBusError(fn: () => unknown, code: ErrorCode, pattern?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(BusError);
  expect((thrown as BusError).codeName, (thrown as BusError).message).toBe(errorCodeName(code));
  if (pattern) expect((thrown as BusError).message).toMatch(pattern);
}

/**
 * Registers the bus conformance tests for a bus implementation. Both implementations (and NATS behind
 * any deployment) must pass the same suite; it needs nothing but a factory.
 */
export function describeBusConformance(name: string, factory: BusFactory): void {
  describe(`bus conformance: ${name}`, () => {
    let bus: Bus;
    let base: string;
    const services: BusService[] = [];

    beforeEach(async () => {
      bus = await factory();
      base = `conformance.${token()}`;
    });

    afterEach(async () => {
      for (const service of services.splice(0)) await service.stop().catch(() => undefined);
      await bus.close();
    });

    /** An echo service that answers with the request reversed, tagged with its type and instance. */
    async function echoService(serviceName: string, subject: string, tag = 'echo'): Promise<BusService> {
      const service = await bus.addService(
        { name: serviceName, version: '1.2.3', description: 'echoes requests', metadata: { role: 'test' } },
        [
          {
            name: 'echo',
            subject,
            metadata: { payload: 'bytes' },
            handler: (request) => {
              const reversed = Uint8Array.from(request.data).reverse();
              return { data: reversed, type: `${tag}:${request.type}` };
            },
          },
        ],
      );
      services.push(service);
      return service;
    }

    function collect(subject: string, queue?: string): { messages: BusMessage[]; unsubscribe(): void } {
      const messages: BusMessage[] = [];
      const sub = bus.subscribe(subject, (m) => void messages.push(m), { queue });
      return { messages, unsubscribe: () => sub.unsubscribe() };
    }

    it('request/reply: the reply carries the service answer, its type and the request subject', async () => {
      const subject = `${base}.echo`;
      await echoService(`conf-${token()}`, subject);
      const reply = await bus.request(subject, bytes(1, 2, 3, 4), { type: 'plex86.v1.Ping' });
      expect([...reply.data]).toEqual([4, 3, 2, 1]);
      expect(reply.type).toBe('echo:plex86.v1.Ping');
      expect(reply.subject).toBe(subject);
    });

    it('publish/subscribe: every plain subscriber gets every message', async () => {
      const subject = `${base}.events`;
      const a = collect(subject);
      const b = collect(subject);
      bus.publish(subject, text('one'));
      bus.publish(subject, text('two'));
      await vi.waitFor(() => {
        expect(a.messages).toHaveLength(2);
        expect(b.messages).toHaveLength(2);
      }, MESSAGE_WAIT);
      expect(a.messages.map((m) => decodeText(m.data))).toEqual(['one', 'two']);
      expect(b.messages.map((m) => m.subject)).toEqual([subject, subject]);
    });

    it('wildcards: * matches one token, > one or more trailing tokens', async () => {
      const star = collect(`${base}.*.out`);
      const tail = collect(`${base}.>`);
      const exact = collect(`${base}.console.out`);
      bus.publish(`${base}.console.out`, text('a'));
      bus.publish(`${base}.serial.out`, text('b'));
      bus.publish(`${base}.console.in`, text('c'));
      bus.publish(`${base}.console.out.extra`, text('d'));
      bus.publish(base, text('e'));
      await bus.flush();
      await vi.waitFor(() => expect(tail.messages).toHaveLength(4), MESSAGE_WAIT);
      expect(star.messages.map((m) => decodeText(m.data))).toEqual(['a', 'b']);
      expect(tail.messages.map((m) => decodeText(m.data))).toEqual(['a', 'b', 'c', 'd']);
      expect(exact.messages.map((m) => decodeText(m.data))).toEqual(['a']);
      expect(star.messages.map((m) => m.subject)).toEqual([`${base}.console.out`, `${base}.serial.out`]);
    });

    it('rejects invalid subjects with a BAD_REQUEST BusError that says why', async () => {
      const bad = ErrorCode.ERROR_CODE_BAD_REQUEST;
      expectThrowsBusError(() => bus.publish(`${base}..x`, bytes()), bad, /token 3 is empty/);
      expectThrowsBusError(() => bus.publish(`${base}.*`, bytes()), bad, /wildcards/);
      expectThrowsBusError(() => bus.publish('', bytes()), bad, /empty/);
      expectThrowsBusError(() => bus.publish(`${base}.a b`, bytes()), bad, /whitespace/);
      expectThrowsBusError(() => bus.subscribe(`${base}.>.x`, () => undefined), bad, /last token/);
      expectThrowsBusError(() => bus.subscribe(`${base}.`, () => undefined), bad, /empty/);
      await expectBusError(bus.request(`${base}.>`, bytes()), bad, /wildcards/);
    });

    it('rejects a bad payload, type, queue group or timeout with BAD_REQUEST', async () => {
      const bad = ErrorCode.ERROR_CODE_BAD_REQUEST;
      const subject = `${base}.args`;
      expectThrowsBusError(() => bus.publish(subject, 'text' as never), bad, /must be a Uint8Array/);
      expectThrowsBusError(() => bus.publish(subject, bytes(), { type: 'a\nb' }), bad, /line breaks/);
      expectThrowsBusError(() => bus.subscribe(subject, () => undefined, { queue: 'a b' }), bad, /queue group/);
      await expectBusError(bus.request(subject, bytes(), { timeoutMs: -1 }), bad, /invalid timeout -1 ms/);
      await expectBusError(bus.request(subject, bytes(), { timeoutMs: 2 ** 40 }), bad, /invalid timeout/);
      await expectBusError(bus.request(subject, bytes(), { type: 'x\r' }), bad, /line breaks/);
    });

    it('queue groups: one member of a group gets each message, spread across members; plain subscribers get all', async () => {
      const subject = `${base}.work`;
      const members = [collect(subject, 'workers'), collect(subject, 'workers'), collect(subject, 'workers')];
      const other = collect(subject, 'auditors');
      const plain = collect(subject);
      const count = 90;
      for (let i = 0; i < count; i++) bus.publish(subject, text(String(i)));
      await vi.waitFor(() => {
        expect(plain.messages).toHaveLength(count);
        expect(other.messages).toHaveLength(count);
        expect(members.reduce((n, m) => n + m.messages.length, 0)).toBe(count);
      }, MESSAGE_WAIT);
      for (const member of members) expect(member.messages.length).toBeGreaterThan(0);
      const seen = members.flatMap((m) => m.messages.map((msg) => decodeText(msg.data)));
      expect(new Set(seen).size).toBe(count);
    });

    it('queue groups: instances of one service share its requests', async () => {
      const subject = `${base}.shared`;
      const serviceName = `conf-${token()}`;
      await echoService(serviceName, subject, 'first');
      await echoService(serviceName, subject, 'second');
      const tags = new Map<string, number>();
      for (let i = 0; i < 40; i++) {
        const reply = await bus.request(subject, bytes(i));
        const tag = reply.type.split(':')[0] ?? '';
        tags.set(tag, (tags.get(tag) ?? 0) + 1);
      }
      expect([...tags.keys()].sort()).toEqual(['first', 'second']);
      expect((tags.get('first') ?? 0) + (tags.get('second') ?? 0)).toBe(40);
    });

    it('no responders: a request nobody listens to fails with NO_RESPONDERS', async () => {
      const err = await expectBusError(
        bus.request(`${base}.nobody`, bytes(1), { timeoutMs: 3000 }),
        ErrorCode.ERROR_CODE_NO_RESPONDERS,
        /no responders/,
      );
      expect(err.subject).toBe(`${base}.nobody`);
    });

    it('timeout: a request whose listener never answers fails with TIMEOUT', async () => {
      const subject = `${base}.silent`;
      const listener = collect(subject);
      const err = await expectBusError(
        bus.request(subject, bytes(7), { timeoutMs: 150 }),
        ErrorCode.ERROR_CODE_TIMEOUT,
        /timed out after 150 ms/,
      );
      expect(err.subject).toBe(subject);
      expect(listener.messages).toHaveLength(1);
    });

    it('error replies: a BusError thrown by an endpoint reaches the caller with its code and message', async () => {
      const subject = `${base}.failing`;
      const service = await bus.addService({ name: `conf-${token()}`, version: '0.1.0' }, [
        {
          name: 'lookup',
          subject,
          handler: (request) => {
            const disk = decodeText(request.data);
            throw new BusError(ErrorCode.ERROR_CODE_NOT_FOUND, request.subject, `disk ${disk} not found`, {
              requestId: 'req-42',
            });
          },
        },
      ]);
      services.push(service);
      const err = await expectBusError(bus.request(subject, text('vdz')), ErrorCode.ERROR_CODE_NOT_FOUND);
      expect(err.message).toBe('disk vdz not found');
      expect(err.subject).toBe(subject);
      expect(err.requestId).toBe('req-42');
    });

    it('typed methods: serveMethods and callMethod round-trip messages over <prefix>.<kebab-case method>', async () => {
      const logger = recordingLogger();
      await serveMethods(
        bus,
        { name: `conf-${token()}`, version: '1.0.0' },
        base,
        ECHO_DEFINITION,
        {
          echo: (request, context) => ({
            ...request,
            message: `${request.message}!`,
            subject: context.subject,
            code: ErrorCode.ERROR_CODE_INTERNAL,
          }),
        },
        { logger },
      ).then((s) => services.push(s));
      const request = ProtoError.fromPartial({ message: 'hello', requestId: 'r1' });
      const response = await callMethod(bus, `${base}.echo-error`, ProtoError, ProtoError, request);
      expect(response).toEqual({
        code: ErrorCode.ERROR_CODE_INTERNAL,
        message: 'hello!',
        subject: `${base}.echo-error`,
        requestId: 'r1',
      });
      const client = methodClient(bus, base, ECHO_DEFINITION);
      expect((await client.echo(ProtoError.fromPartial({ message: 'again' }))).message).toBe('again!');
      const raw = await bus.request(`${base}.echo-error`, ProtoError.encode(request).finish(), { type: ERROR_TYPE });
      expect(raw.type).toBe(ERROR_TYPE);
      expect(logger.lines).toEqual([]);
    });

    it('malformed payload: BAD_REQUEST error reply and one log line, and the service still answers', async () => {
      const logger = recordingLogger();
      await serveMethods(
        bus,
        { name: `conf-${token()}`, version: '1.0.0' },
        base,
        ECHO_DEFINITION,
        { echo: (request) => request },
        { logger },
      ).then((s) => services.push(s));
      const subject = `${base}.echo-error`;
      // Field 2 (a string) claims 5 bytes but only one follows.
      const err = await expectBusError(
        bus.request(subject, bytes(0x12, 0x05, 0x61)),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /cannot decode plex86\.v1\.Error/,
      );
      expect(err.subject).toBe(subject);
      expect(logger.lines).toHaveLength(1);
      expect(logger.lines[0]).toMatch(/^warn .*EchoError.*cannot decode plex86\.v1\.Error \(3 bytes/);
      const ok = await callMethod(
        bus,
        subject,
        ProtoError,
        ProtoError,
        ProtoError.fromPartial({ message: 'still here' }),
      );
      expect(ok.message).toBe('still here');
      await expectBusError(
        bus.request(subject, bytes(), { type: 'plex86.v1.Other' }),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /expects plex86\.v1\.Error, got plex86\.v1\.Other/,
      );
      expect(logger.lines).toHaveLength(2);
    });

    it('a typed handler that throws becomes INTERNAL (or its BusError code) with a log line for the bug', async () => {
      const logger = recordingLogger();
      await serveMethods(
        bus,
        { name: `conf-${token()}`, version: '1.0.0' },
        base,
        ECHO_DEFINITION,
        {
          echo: (request) => {
            if (request.message === 'state') {
              throw new BusError(ErrorCode.ERROR_CODE_FAILED_PRECONDITION, '', 'only in state RUNNING');
            }
            throw new TypeError('cannot read properties of undefined');
          },
        },
        { logger },
      ).then((s) => services.push(s));
      const subject = `${base}.echo-error`;
      await expectBusError(
        callMethod(bus, subject, ProtoError, ProtoError, ProtoError.fromPartial({ message: 'bug' })),
        ErrorCode.ERROR_CODE_INTERNAL,
        /cannot read properties of undefined/,
      );
      expect(logger.lines).toHaveLength(1);
      expect(logger.lines[0]).toMatch(/^error .*cannot read properties of undefined/);
      await expectBusError(
        callMethod(bus, subject, ProtoError, ProtoError, ProtoError.fromPartial({ message: 'state' })),
        ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
        /only in state RUNNING/,
      );
      expect(logger.lines).toHaveLength(1);
    });

    it('carries the payload type with published messages, requests and replies; absent type is empty', async () => {
      const subject = `${base}.typed`;
      const sub = collect(subject);
      bus.publish(subject, bytes(1), { type: 'plex86.v1.ConsoleOutput' });
      bus.publish(subject, bytes(2));
      await vi.waitFor(() => expect(sub.messages).toHaveLength(2), MESSAGE_WAIT);
      expect(sub.messages.map((m) => m.type)).toEqual(['plex86.v1.ConsoleOutput', '']);
      const echo = `${base}.typed-echo`;
      await echoService(`conf-${token()}`, echo);
      expect((await bus.request(echo, bytes(1), { type: 'plex86.v1.StepRequest' })).type).toBe(
        'echo:plex86.v1.StepRequest',
      );
      expect((await bus.request(echo, bytes(1))).type).toBe('echo:');
    });

    it('discovery: reports each service with its endpoints, queue group and request/error counts', async () => {
      const serviceName = `conf-${token()}`;
      const subject = `${base}.disc`;
      const service = await bus.addService(
        {
          name: serviceName,
          version: '2.0.1',
          description: 'discoverable',
          metadata: { vm: 'vm1' },
        },
        [
          { name: 'ok', subject, handler: (r) => ({ data: r.data }), metadata: { kind: 'echo' } },
          {
            name: 'fail',
            subject: `${subject}.fail`,
            handler: () => {
              throw new BusError(ErrorCode.ERROR_CODE_UNAVAILABLE, '', 'backend lost');
            },
          },
        ],
      );
      services.push(service);
      const solo = await bus.addService({ name: `${serviceName}-solo`, version: '0.0.1', queue: '' }, [
        { name: 'only', subject: `${subject}.solo`, handler: (r) => ({ data: r.data }) },
      ]);
      services.push(solo);
      for (let i = 0; i < 3; i++) await bus.request(subject, bytes(i));
      await expectBusError(bus.request(`${subject}.fail`, bytes()), ErrorCode.ERROR_CODE_UNAVAILABLE, /backend lost/);

      const found = (await bus.discover()).filter((s) => s.name.startsWith(serviceName));
      expect(found.map((s) => s.name).sort()).toEqual([serviceName, `${serviceName}-solo`]);
      const main = found.find((s) => s.name === serviceName);
      expect(main).toMatchObject({ id: service.id, version: '2.0.1', description: 'discoverable' });
      expect(main?.metadata).toMatchObject({ vm: 'vm1' });
      const endpoints = [...(main?.endpoints ?? [])].sort((a, b) => a.name.localeCompare(b.name));
      expect(endpoints).toEqual([
        {
          name: 'fail',
          subject: `${subject}.fail`,
          queueGroup: 'q',
          metadata: {},
          requests: 1,
          errors: 1,
          lastError: 'backend lost',
        },
        {
          name: 'ok',
          subject,
          queueGroup: 'q',
          metadata: { kind: 'echo' },
          requests: 3,
          errors: 0,
          lastError: '',
        },
      ]);
      expect(found.find((s) => s.id === solo.id)?.endpoints[0]?.queueGroup).toBe('');

      await solo.stop();
      await solo.stop();
      const after = (await bus.discover()).filter((s) => s.name.startsWith(serviceName));
      expect(after.map((s) => s.id)).toEqual([service.id]);
      await expectBusError(bus.request(`${subject}.solo`, bytes()), ErrorCode.ERROR_CODE_NO_RESPONDERS);
    });

    it('refuses invalid service definitions with BAD_REQUEST', async () => {
      const handler = (r: BusMessage) => ({ data: r.data });
      const subject = `${base}.svc`;
      await expectBusError(
        bus.addService({ name: 'bad name', version: '1.0.0' }, [{ name: 'e', subject, handler }]),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /service name/,
      );
      await expectBusError(
        bus.addService({ name: 'ok', version: 'one' }, [{ name: 'e', subject, handler }]),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /semver/,
      );
      await expectBusError(
        bus.addService({ name: 'ok', version: '1.0.0' }, [{ name: 'e', subject: `${subject}..x`, handler }]),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /invalid subject/,
      );
      await expectBusError(
        bus.addService({ name: 'ok', version: '1.0.0' }, [
          { name: 'e', subject, handler },
          { name: 'e', subject: `${subject}.2`, handler },
        ]),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /two endpoints named e/,
      );
    });

    it('unsubscribe: no more messages afterwards; a second unsubscribe is harmless', async () => {
      const subject = `${base}.unsub`;
      const gone = collect(subject);
      const stays = collect(subject);
      bus.publish(subject, text('before'));
      await vi.waitFor(() => expect(gone.messages).toHaveLength(1), MESSAGE_WAIT);
      gone.unsubscribe();
      gone.unsubscribe();
      bus.publish(subject, text('after'));
      await bus.flush();
      await vi.waitFor(() => expect(stays.messages).toHaveLength(2), MESSAGE_WAIT);
      expect(gone.messages.map((m) => decodeText(m.data))).toEqual(['before']);
    });

    it('close: pending requests and later calls fail with UNAVAILABLE; closing twice is harmless', async () => {
      const subject = `${base}.closing`;
      collect(subject);
      const pending = bus.request(subject, bytes(1), { timeoutMs: 30_000 });
      await bus.flush();
      await bus.close();
      await expectBusError(pending, ErrorCode.ERROR_CODE_UNAVAILABLE, /closed/);
      expectThrowsBusError(() => bus.publish(subject, bytes()), ErrorCode.ERROR_CODE_UNAVAILABLE, /closed/);
      expectThrowsBusError(() => bus.subscribe(subject, () => undefined), ErrorCode.ERROR_CODE_UNAVAILABLE);
      await expectBusError(bus.request(subject, bytes()), ErrorCode.ERROR_CODE_UNAVAILABLE, /closed/);
      await expectBusError(bus.discover(), ErrorCode.ERROR_CODE_UNAVAILABLE);
      await bus.close();
    });

    it('large payloads: 1 MiB requests, replies and published messages arrive intact', async () => {
      const subject = `${base}.large`;
      await echoService(`conf-${token()}`, subject);
      const payload = randomBytes(1024 * 1024);
      const reply = await bus.request(subject, payload, { timeoutMs: 10_000 });
      expect(reply.data.length).toBe(payload.length);
      expect(Buffer.from(reply.data).equals(Buffer.from(payload).reverse())).toBe(true);
      const sub = collect(`${base}.large-events`);
      const event = randomBytes(1024 * 1024);
      bus.publish(`${base}.large-events`, event);
      await vi.waitFor(() => expect(sub.messages).toHaveLength(1), MESSAGE_WAIT);
      expect(Buffer.from(sub.messages[0]?.data ?? []).equals(event)).toBe(true);
    });

    it('ordering: messages from one publisher arrive in publish order, with their own bytes', async () => {
      const subject = `${base}.ordered`;
      const sub = collect(subject);
      const count = 1000;
      for (let i = 0; i < count; i++) {
        const data = new Uint8Array(8);
        new DataView(data.buffer).setUint32(0, i);
        data.fill(i & 0xff, 4);
        bus.publish(subject, data);
      }
      await vi.waitFor(() => expect(sub.messages).toHaveLength(count), MESSAGE_WAIT);
      sub.messages.forEach((m, i) => {
        const view = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
        expect(view.getUint32(0)).toBe(i);
        expect(m.data[7]).toBe(i & 0xff);
      });
    });
  });
}
