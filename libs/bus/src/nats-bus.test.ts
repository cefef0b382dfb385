import { Svcm } from '@nats-io/services';
import { connect } from '@nats-io/transport-node';
import { Error as ProtoError, ErrorCode } from '@plex86/proto';
import { startNatsServer } from '@plex86/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Bus } from './bus.js';
import { BusError } from './errors.js';
import { createNatsBus, TYPE_HEADER } from './nats-bus.js';
import { describeBusConformance } from './testing/conformance.js';

const natsUrl = inject('natsUrl');

describeBusConformance('nats', () => createNatsBus({ servers: natsUrl, name: 'conformance' }));

describe('NATS bus interoperability', () => {
  let bus: Bus;
  beforeAll(async () => {
    bus = await createNatsBus({ servers: natsUrl, name: 'interop' });
  });
  afterAll(async () => {
    await bus.close();
  });

  it('is seen by plain NATS clients: type header, service error headers and $SRV discovery', async () => {
    const nc = await connect({ servers: natsUrl });
    try {
      const service = await bus.addService({ name: 'interop-svc', version: '1.0.0' }, [
        {
          name: 'ok',
          subject: 'interop.ok',
          handler: (r) => ({ data: r.data, type: 'plex86.v1.Reply' }),
        },
        {
          name: 'missing',
          subject: 'interop.missing',
          handler: () => {
            throw new BusError(ErrorCode.ERROR_CODE_NOT_FOUND, 'interop.missing', 'no such image');
          },
        },
      ]);
      const events = nc.subscribe('interop.event', { max: 1 });
      await nc.flush();
      bus.publish('interop.event', new Uint8Array([9]), { type: 'plex86.v1.Event' });
      for await (const m of events) {
        expect(m.headers?.get(TYPE_HEADER)).toBe('plex86.v1.Event');
        expect([...m.data]).toEqual([9]);
      }

      const ok = await nc.request('interop.ok', new Uint8Array([1, 2]), { timeout: 2000 });
      expect(ok.headers?.get(TYPE_HEADER)).toBe('plex86.v1.Reply');
      expect([...ok.data]).toEqual([1, 2]);

      const failed = await nc.request('interop.missing', new Uint8Array(), { timeout: 2000 });
      expect(failed.headers?.get('Nats-Service-Error-Code')).toBe('404');
      expect(failed.headers?.get('Nats-Service-Error')).toBe('no such image');
      expect(failed.headers?.get(TYPE_HEADER)).toBe('plex86.v1.Error');
      expect(ProtoError.decode(failed.data)).toEqual({
        code: ErrorCode.ERROR_CODE_NOT_FOUND,
        message: 'no such image',
        subject: 'interop.missing',
        requestId: '',
      });

      const ping = await nc.request(`$SRV.PING.interop-svc`, new Uint8Array(), { timeout: 2000 });
      expect(ping.json<{ id: string }>().id).toBe(service.id);
      await service.stop();
    } finally {
      await nc.close();
    }
  });

  it('turns an error reply from a foreign service (no plex86 payload) into a BusError by its status', async () => {
    const nc = await connect({ servers: natsUrl });
    try {
      const foreign = await new Svcm(nc).add({ name: 'foreign-svc', version: '0.0.1' });
      foreign.addEndpoint('busy', {
        subject: 'interop.foreign',
        handler: (_err, msg) => void msg.respondError(409, 'wrong lifecycle state'),
      });
      await nc.flush();
      const err = await bus.request('interop.foreign', new Uint8Array()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BusError);
      expect((err as BusError).code).toBe(ErrorCode.ERROR_CODE_FAILED_PRECONDITION);
      expect((err as BusError).message).toBe('wrong lifecycle state');
      await foreign.stop();
    } finally {
      await nc.close();
    }
  });

  it('serves clients on other connections as soon as addService resolves', async () => {
    const other = await createNatsBus({ servers: natsUrl, name: 'interop-other' });
    try {
      const service = await other.addService({ name: 'interop-remote', version: '1.0.0' }, [
        { name: 'echo', subject: 'interop.remote', handler: (r) => ({ data: r.data, type: r.type }) },
      ]);
      const reply = await bus.request('interop.remote', Uint8Array.of(5), { type: 'plex86.v1.Ping' });
      expect([...reply.data]).toEqual([5]);
      expect(reply.type).toBe('plex86.v1.Ping');
      const found = (await bus.discover()).find((s) => s.id === service.id);
      expect(found?.endpoints[0]).toMatchObject({ subject: 'interop.remote', requests: 1, errors: 0 });
    } finally {
      await other.close();
    }
  });

  it('discovers nothing, promptly, on a server without services', async () => {
    const server = await startNatsServer();
    const lonely = await createNatsBus({ servers: server.url });
    try {
      expect(await lonely.discover()).toEqual([]);
    } finally {
      await lonely.close();
      await server.stop();
    }
  });

  it('rejects a message larger than the server max_payload with BAD_REQUEST', async () => {
    const err = await bus.request('interop.huge', new Uint8Array(9 * 1024 * 1024)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe(ErrorCode.ERROR_CODE_BAD_REQUEST);
    expect((err as BusError).message).toMatch(/larger than the NATS server's max_payload of 8388608 bytes/);
  });

  it('fails to connect with UNAVAILABLE and a hint when no server listens', async () => {
    const err = await createNatsBus({ servers: 'nats://127.0.0.1:1', connectTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe(ErrorCode.ERROR_CODE_UNAVAILABLE);
    expect((err as BusError).message).toMatch(
      /cannot connect to NATS at nats:\/\/127\.0\.0\.1:1: .*is nats-server running/,
    );
  });
});
