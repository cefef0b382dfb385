import {
  ClosedConnectionError,
  ConnectionError,
  InvalidArgumentError,
  NoRespondersError,
  RequestError,
  TimeoutError,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/nats-core';
import {
  ServiceError,
  ServiceErrorCodeHeader,
  ServiceErrorHeader,
  Svcm,
  type NamedEndpointStats,
  type Service,
  type ServiceInfo,
  type ServiceMsg,
  type ServiceStats,
} from '@nats-io/services';
import { connect } from '@nats-io/transport-node';
import { ErrorCode } from '@plex86/proto';
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  type Bus,
  type BusMessage,
  type BusService,
  type BusSubscription,
  type DiscoveredService,
  type EndpointConfig,
  type MessageHandler,
  type PublishOptions,
  type RequestOptions,
  type ServiceConfig,
  type SubscribeOptions,
} from './bus.js';
import { checkPayload, checkQueue, checkTimeout, checkType } from './checks.js';
import { invokeEndpoint } from './endpoint.js';
import { BusError, decodeErrorReply, encodeErrorReply, ERROR_TYPE_NAME, serviceStatusOf } from './errors.js';
import { describeError, stderrLogger, type BusLogger } from './logger.js';
import { DEFAULT_SERVICE_QUEUE, resolveService } from './service-config.js';
import { validateSubject } from './subjects.js';

/** The header that carries the fully qualified protobuf type of a payload. */
export const TYPE_HEADER = 'Plex86-Type';

export interface NatsBusOptions {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string | readonly string[];
  /** Connection name shown by the server's monitoring. */
  readonly name?: string;
  /** Default request timeout (ms). */
  readonly requestTimeoutMs?: number;
  /** Wait between reconnection attempts (ms); the bus reconnects forever. */
  readonly reconnectWaitMs?: number;
  /** Timeout of the first connection attempt (ms). */
  readonly connectTimeoutMs?: number;
  /** How long discovery waits for services to answer (ms). */
  readonly discoverWaitMs?: number;
  readonly logger?: BusLogger;
}

class NatsMessage implements BusMessage {
  constructor(
    readonly subject: string,
    readonly data: Uint8Array,
    readonly type: string,
  ) {}
}

/** The counters @nats-io/services keeps per endpoint (what `$SRV.STATS` reports). */
interface EndpointStatsHandle {
  countError(err: Error): void;
}

/**
 * @nats-io/services counts an error only when a handler throws synchronously; our handlers are
 * asynchronous and answer with respondError, so errors are counted on the endpoint's own stats object.
 */
function endpointStats(service: Service, name: string): EndpointStatsHandle | null {
  const handlers = (service as unknown as { handlers?: unknown }).handlers;
  if (!Array.isArray(handlers)) return null;
  for (const handler of handlers as { name?: unknown; stats?: { countError?: unknown } }[]) {
    if (handler.name === name && typeof handler.stats?.countError === 'function') {
      return handler.stats as EndpointStatsHandle;
    }
  }
  return null;
}

function typeHeaders(type: string | undefined): MsgHdrs | undefined {
  if (!type) return undefined;
  const h = natsHeaders();
  h.set(TYPE_HEADER, type);
  return h;
}

/** Header values cannot hold line breaks. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

class NatsBus implements Bus {
  readonly kind = 'nats';
  private readonly svcm: Svcm;
  private readonly timeoutMs: number;
  private readonly discoverWaitMs: number;
  private readonly logger: BusLogger;
  private readonly server: string;
  private readonly subs = new Set<Subscription>();
  private readonly services = new Set<Service>();
  private connected = true;
  private closed = false;
  /** Resolves (with null) when the connection drops; renewed on reconnect. Requests race against it. */
  private down!: Promise<null>;
  private signalDown!: () => void;

  constructor(
    private readonly nc: NatsConnection,
    options: NatsBusOptions,
  ) {
    this.svcm = new Svcm(nc);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.discoverWaitMs = options.discoverWaitMs ?? 2000;
    this.logger = options.logger ?? stderrLogger;
    this.server = nc.getServer();
    this.renewDownSignal();
    void this.watchStatus();
  }

  private renewDownSignal(): void {
    this.down = new Promise<null>((resolve) => {
      this.signalDown = () => resolve(null);
    });
  }

  private async watchStatus(): Promise<void> {
    try {
      for await (const status of this.nc.status()) {
        if (status.type === 'disconnect') {
          if (!this.connected) continue;
          this.connected = false;
          this.signalDown();
          this.logger.warn(`NATS connection to ${this.server} lost; reconnecting`);
        } else if (status.type === 'reconnect') {
          if (this.connected) continue;
          this.connected = true;
          this.renewDownSignal();
          this.logger.warn(`NATS connection to ${this.server} restored`);
        }
      }
    } catch (err) {
      this.logger.error(`NATS status watcher failed: ${describeError(err)}`);
    }
  }

  async request(subject: string, data: Uint8Array, options?: RequestOptions): Promise<BusMessage> {
    this.checkSend(subject, data, options?.type);
    const timeout = options?.timeoutMs ?? this.timeoutMs;
    checkTimeout(subject, timeout);
    if (!this.connected) throw this.downError(subject);
    let reply: Msg | null;
    try {
      reply = await Promise.race([
        this.nc.request(subject, data, { timeout, headers: typeHeaders(options?.type) }),
        this.down,
      ]);
    } catch (err) {
      throw this.mapError(err, subject, timeout);
    }
    if (reply === null) throw this.closed ? closedError(subject) : this.downError(subject);
    const h = reply.headers;
    if (h !== undefined && h.has(ServiceErrorCodeHeader)) {
      throw decodeErrorReply(subject, reply.data, Number(h.get(ServiceErrorCodeHeader)), h.get(ServiceErrorHeader));
    }
    return new NatsMessage(subject, reply.data, h?.get(TYPE_HEADER) ?? '');
  }

  publish(subject: string, data: Uint8Array, options?: PublishOptions): void {
    this.checkSend(subject, data, options?.type);
    try {
      this.nc.publish(subject, data, { headers: typeHeaders(options?.type) });
    } catch (err) {
      throw this.mapError(err, subject, 0);
    }
  }

  subscribe(subject: string, handler: MessageHandler, options?: SubscribeOptions): BusSubscription {
    if (this.closed) throw closedError(subject);
    validateSubject(subject, 'listen');
    const queue = options?.queue ?? '';
    checkQueue(subject, queue);
    const logger = this.logger;
    const fail = (err: unknown): void => logger.error(`subscriber on ${subject} failed: ${describeError(err)}`);
    let sub: Subscription;
    try {
      sub = this.nc.subscribe(subject, {
        queue: queue === '' ? undefined : queue,
        callback: (err, msg) => {
          if (err !== null) return fail(err);
          try {
            const result = handler(new NatsMessage(msg.subject, msg.data, msg.headers?.get(TYPE_HEADER) ?? ''));
            if (result instanceof Promise) result.catch(fail);
          } catch (e) {
            fail(e);
          }
        },
      });
    } catch (err) {
      throw this.mapError(err, subject, 0);
    }
    this.subs.add(sub);
    const subs = this.subs;
    return {
      subject,
      queue,
      unsubscribe(): void {
        if (!subs.delete(sub)) return;
        sub.unsubscribe();
      },
    };
  }

  async addService(config: ServiceConfig, endpoints: readonly EndpointConfig[]): Promise<BusService> {
    if (this.closed) throw closedError(config.name);
    const resolved = resolveService(config, endpoints);
    let service: Service;
    try {
      service = await this.svcm.add({
        name: config.name,
        version: config.version,
        description: config.description ?? '',
        metadata: { ...config.metadata },
        queue: config.queue ?? DEFAULT_SERVICE_QUEUE,
      });
    } catch (err) {
      throw this.mapError(err, config.name, 0);
    }
    for (const endpoint of resolved) {
      const where = `service ${config.name} endpoint ${endpoint.name}`;
      let stats: EndpointStatsHandle | null = null;
      service.addEndpoint(endpoint.name, {
        subject: endpoint.subject,
        queue: endpoint.queue,
        metadata: { ...endpoint.metadata },
        handler: (err, msg) => {
          if (err !== null) {
            this.logger.error(`${where}: ${describeError(err)}`);
            return;
          }
          void this.serve(endpoint.handler, where, msg, stats);
        },
      });
      stats = endpointStats(service, endpoint.name);
    }
    this.services.add(service);
    // Resolve once the server knows the endpoints, so clients on other connections can reach them.
    if (this.connected) await this.flush();
    const services = this.services;
    return {
      id: service.info().id,
      name: config.name,
      async stop(): Promise<void> {
        if (!services.delete(service)) return;
        await service.stop();
      },
    };
  }

  private async serve(
    handler: EndpointConfig['handler'],
    where: string,
    msg: ServiceMsg,
    stats: EndpointStatsHandle | null,
  ): Promise<void> {
    const request = new NatsMessage(msg.subject, msg.data, msg.headers?.get(TYPE_HEADER) ?? '');
    const outcome = await invokeEndpoint(handler, request, where, this.logger);
    if (!(outcome instanceof BusError)) {
      try {
        msg.respond(outcome.data, { headers: typeHeaders(outcome.type) });
        return;
      } catch (err) {
        this.logger.error(`${where}: cannot send the reply on ${msg.subject}: ${describeError(err)}`);
        this.respondError(
          msg,
          new BusError(
            ErrorCode.ERROR_CODE_INTERNAL,
            msg.subject,
            `internal error: the reply of ${outcome.data.length} bytes could not be sent (${describeError(err)})`,
          ),
          stats,
        );
        return;
      }
    }
    this.respondError(msg, outcome, stats);
  }

  private respondError(msg: ServiceMsg, error: BusError, stats: EndpointStatsHandle | null): void {
    stats?.countError(error);
    try {
      msg.respondError(serviceStatusOf(error.code), oneLine(error.message), encodeErrorReply(error), {
        headers: typeHeaders(ERROR_TYPE_NAME),
      });
    } catch (err) {
      this.logger.error(`cannot send the error reply on ${msg.subject}: ${describeError(err)}`);
    }
  }

  async discover(): Promise<DiscoveredService[]> {
    if (this.closed) throw closedError('$SRV.INFO');
    if (!this.connected) throw this.downError('$SRV.INFO');
    const client = this.svcm.client({ strategy: 'stall', maxWait: this.discoverWaitMs });
    const [infos, stats] = await Promise.all([
      collect<ServiceInfo>(() => client.info()),
      collect<ServiceStats>(() => client.stats()),
    ]);
    const statsById = new Map(stats.map((s) => [s.id, s]));
    return infos.map((info) => {
      const endpointStats = new Map<string, NamedEndpointStats>();
      for (const e of statsById.get(info.id)?.endpoints ?? []) endpointStats.set(e.name, e);
      return {
        name: info.name,
        id: info.id,
        version: info.version,
        description: info.description ?? '',
        metadata: info.metadata ?? {},
        endpoints: info.endpoints.map((e) => {
          const s = endpointStats.get(e.name);
          return {
            name: e.name,
            subject: e.subject,
            queueGroup: e.queue_group ?? '',
            metadata: e.metadata ?? {},
            requests: s?.num_requests ?? 0,
            errors: s?.num_errors ?? 0,
            lastError: s?.last_error ?? '',
          };
        }),
      };
    });
  }

  async flush(): Promise<void> {
    if (this.closed) throw closedError('flush');
    if (!this.connected) throw this.downError('flush');
    try {
      await Promise.race([this.nc.flush(), this.down]);
    } catch (err) {
      throw this.mapError(err, 'flush', 0);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const service of this.services) {
      await service.stop().catch((err: unknown) => {
        this.logger.warn(`stopping service ${service.info().name}: ${describeError(err)}`);
      });
    }
    this.services.clear();
    this.subs.clear();
    if (this.connected) {
      try {
        await this.nc.drain();
      } catch {
        await this.nc.close();
      }
    } else {
      await this.nc.close();
    }
    this.signalDown();
  }

  private checkSend(subject: string, data: Uint8Array, type: string | undefined): void {
    if (this.closed) throw closedError(subject);
    validateSubject(subject, 'send');
    checkPayload(subject, data);
    checkType(subject, type);
  }

  private downError(subject: string): BusError {
    return new BusError(
      ErrorCode.ERROR_CODE_UNAVAILABLE,
      subject,
      `the NATS connection to ${this.server} is down (reconnecting); ${subject} cannot be reached now`,
    );
  }

  private mapError(err: unknown, subject: string, timeoutMs: number): BusError {
    if (err instanceof BusError) return err;
    if (this.closed || err instanceof ClosedConnectionError) return closedError(subject);
    if (err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())) {
      return new BusError(
        ErrorCode.ERROR_CODE_NO_RESPONDERS,
        subject,
        `no responders on ${subject}: nothing listens on that subject (is the service running?)`,
        { cause: err },
      );
    }
    if (err instanceof TimeoutError) {
      if (!this.connected) return this.downError(subject);
      return new BusError(
        ErrorCode.ERROR_CODE_TIMEOUT,
        subject,
        `request to ${subject} timed out after ${timeoutMs} ms`,
        {
          cause: err,
        },
      );
    }
    if (err instanceof InvalidArgumentError && /max_payload/.test(err.message)) {
      const limit = this.nc.info?.max_payload ?? 0;
      return new BusError(
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        subject,
        `message for ${subject} is larger than the NATS server's max_payload of ${limit} bytes`,
        { cause: err },
      );
    }
    if (err instanceof ServiceError) {
      return new BusError(ErrorCode.ERROR_CODE_INTERNAL, subject, err.message, { cause: err });
    }
    if (err instanceof ConnectionError || !this.connected) return this.downError(subject);
    return new BusError(ErrorCode.ERROR_CODE_INTERNAL, subject, `${subject}: ${describeError(err)}`, { cause: err });
  }
}

async function collect<T>(query: () => Promise<AsyncIterable<T>>): Promise<T[]> {
  const out: T[] = [];
  try {
    for await (const item of await query()) out.push(item);
  } catch (err) {
    // No service at all answers $SRV.* with "no responders": an empty result, not a failure.
    if (err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())) return out;
    throw err;
  }
  return out;
}

function closedError(subject: string): BusError {
  return new BusError(ErrorCode.ERROR_CODE_UNAVAILABLE, subject, `the bus is closed (${subject})`);
}

/**
 * Connects to NATS. The connection reconnects forever with a short wait, so a restarted server is picked
 * up; while it is down, requests fail fast with UNAVAILABLE instead of waiting for their timeout.
 */
export async function createNatsBus(options: NatsBusOptions): Promise<Bus> {
  const servers = typeof options.servers === 'string' ? [options.servers] : [...options.servers];
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectWaitMs ?? 250,
      reconnectJitter: 50,
      timeout: options.connectTimeoutMs ?? 5000,
    });
  } catch (err) {
    throw new BusError(
      ErrorCode.ERROR_CODE_UNAVAILABLE,
      '',
      `cannot connect to NATS at ${servers.join(', ')}: ${describeError(err)} (is nats-server running?)`,
      { cause: err },
    );
  }
  return new NatsBus(nc, options);
}
