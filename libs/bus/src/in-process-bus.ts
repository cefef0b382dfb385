import { randomBytes } from 'node:crypto';
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
import { EndpointCounters, invokeEndpoint } from './endpoint.js';
import { BusError, decodeErrorReply, encodeErrorReply, serviceStatusOf } from './errors.js';
import { describeError, stderrLogger, type BusLogger } from './logger.js';
import { resolveService, type ResolvedEndpoint } from './service-config.js';
import { subjectMatches, validateSubject } from './subjects.js';

export interface InProcessBusOptions {
  /** Default request timeout (ms). */
  readonly requestTimeoutMs?: number;
  readonly logger?: BusLogger;
}

/** Deliveries run per microtask turn before yielding to I/O and timers, so a busy bus cannot starve them. */
const DELIVERY_BATCH = 1024;
/**
 * Timeouts are checked on a ticker that runs while requests are pending, instead of one timer per
 * request (which would cost more than the rest of a request); a timeout fires up to this much late.
 */
const TIMEOUT_TICK_MS = 5;
/** Distinct subjects whose subscriber sets are cached; the cache is rebuilt when it grows past this. */
const MATCH_CACHE_LIMIT = 4096;

class Message implements BusMessage {
  constructor(
    readonly subject: string,
    readonly data: Uint8Array,
    readonly type: string,
  ) {}
}

/** A request waiting for its reply. */
class PendingRequest {
  readonly promise: Promise<BusMessage>;
  readonly deadline: number;
  private resolveFn!: (message: BusMessage) => void;
  private rejectFn!: (error: BusError) => void;
  settled = false;

  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
    private readonly owner: Set<PendingRequest>,
  ) {
    this.promise = new Promise<BusMessage>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    this.deadline = performance.now() + timeoutMs;
    owner.add(this);
  }

  resolve(message: BusMessage): void {
    if (this.settle()) this.resolveFn(message);
  }

  reject(error: BusError): void {
    if (this.settle()) this.rejectFn(error);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.owner.delete(this);
    return true;
  }
}

type Deliver = (message: BusMessage, pending: PendingRequest | null) => void;

class Subscription implements BusSubscription {
  active = true;
  readonly wildcard: boolean;

  constructor(
    readonly subject: string,
    readonly queue: string,
    readonly deliver: Deliver,
    private readonly bus: InProcessBus,
  ) {
    this.wildcard = subject.split('.').some((t) => t === '*' || t === '>');
  }

  unsubscribe(): void {
    if (!this.active) return;
    this.active = false;
    this.bus.remove(this);
  }
}

/** The members of one queue group that listen on a subject; they take turns. */
class QueueGroup {
  next = 0;
  readonly members: Subscription[] = [];
  constructor(readonly name: string) {}
}

/** Who receives a message sent to one subject. */
class Match {
  readonly plain: Subscription[] = [];
  readonly groups: QueueGroup[] = [];
}

class InProcessService implements BusService {
  readonly id = randomBytes(11).toString('hex').toUpperCase();
  stopped = false;

  constructor(
    readonly config: ServiceConfig,
    readonly endpoints: readonly { endpoint: ResolvedEndpoint; counters: EndpointCounters; sub: Subscription }[],
    private readonly bus: InProcessBus,
  ) {}

  get name(): string {
    return this.config.name;
  }

  stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      for (const { sub } of this.endpoints) sub.unsubscribe();
      this.bus.forget(this);
    }
    return Promise.resolve();
  }
}

/**
 * A bus inside one process with the semantics of NATS: wildcard subscriptions, queue groups taking turns,
 * no-responders errors, timeouts, error replies and service discovery. Payload bytes are passed as they
 * are, never copied. Delivery is asynchronous and in publish order, as over NATS.
 */
export class InProcessBus implements Bus {
  readonly kind = 'in-process';
  private readonly timeoutMs: number;
  private readonly logger: BusLogger;
  private readonly subs = new Set<Subscription>();
  private readonly cache = new Map<string, Match>();
  private readonly services = new Set<InProcessService>();
  private readonly pending = new Set<PendingRequest>();
  private closed = false;
  private ticker: NodeJS.Timeout | null = null;

  // The delivery queue, as parallel arrays so queueing a delivery allocates nothing.
  private readonly queueSubs: Subscription[] = [];
  private readonly queueMessages: BusMessage[] = [];
  private readonly queuePending: (PendingRequest | null)[] = [];
  private head = 0;
  private scheduled = false;
  private flushWaiters: (() => void)[] = [];

  constructor(options: InProcessBusOptions = {}) {
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.logger = options.logger ?? stderrLogger;
  }

  request(subject: string, data: Uint8Array, options?: RequestOptions): Promise<BusMessage> {
    const timeoutMs = options?.timeoutMs ?? this.timeoutMs;
    let match: Match;
    try {
      this.assertOpen(subject);
      checkPayload(subject, data);
      checkType(subject, options?.type);
      checkTimeout(subject, timeoutMs);
      match = this.match(subject);
    } catch (err) {
      return Promise.reject(err);
    }
    if (match.plain.length === 0 && match.groups.length === 0) {
      return Promise.reject(noResponders(subject));
    }
    const pending = new PendingRequest(subject, timeoutMs, this.pending);
    if (this.ticker === null) this.ticker = setInterval(this.expire, TIMEOUT_TICK_MS);
    this.dispatch(match, new Message(subject, data, options?.type ?? ''), pending);
    return pending.promise;
  }

  publish(subject: string, data: Uint8Array, options?: PublishOptions): void {
    this.assertOpen(subject);
    checkPayload(subject, data);
    checkType(subject, options?.type);
    const match = this.match(subject);
    if (match.plain.length === 0 && match.groups.length === 0) return;
    this.dispatch(match, new Message(subject, data, options?.type ?? ''), null);
  }

  subscribe(subject: string, handler: MessageHandler, options?: SubscribeOptions): BusSubscription {
    this.assertOpen(subject);
    validateSubject(subject, 'listen');
    const queue = options?.queue ?? '';
    checkQueue(subject, queue);
    const logger = this.logger;
    const deliver: Deliver = (message) => {
      try {
        const result = handler(message);
        if (result instanceof Promise) {
          result.catch((err: unknown) => logger.error(`subscriber on ${subject} failed: ${describeError(err)}`));
        }
      } catch (err) {
        logger.error(`subscriber on ${subject} failed: ${describeError(err)}`);
      }
    };
    return this.add(new Subscription(subject, queue, deliver, this));
  }

  addService(config: ServiceConfig, endpoints: readonly EndpointConfig[]): Promise<BusService> {
    try {
      this.assertOpen(config.name);
      const resolved = resolveService(config, endpoints);
      const entries = resolved.map((endpoint) => {
        const counters = new EndpointCounters();
        const where = `service ${config.name} endpoint ${endpoint.name}`;
        const deliver: Deliver = (message, pending) => {
          void this.serve(endpoint, counters, where, message, pending);
        };
        return { endpoint, counters, sub: new Subscription(endpoint.subject, endpoint.queue, deliver, this) };
      });
      for (const { sub } of entries) this.add(sub);
      const service = new InProcessService(config, entries, this);
      this.services.add(service);
      return Promise.resolve(service);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  discover(): Promise<DiscoveredService[]> {
    if (this.closed) return Promise.reject(closedError('$SRV.INFO'));
    const found: DiscoveredService[] = [];
    for (const service of this.services) {
      found.push({
        name: service.config.name,
        id: service.id,
        version: service.config.version,
        description: service.config.description ?? '',
        metadata: service.config.metadata ?? {},
        endpoints: service.endpoints.map(({ endpoint, counters }) => ({
          name: endpoint.name,
          subject: endpoint.subject,
          queueGroup: endpoint.queue,
          metadata: endpoint.metadata,
          requests: counters.requests,
          errors: counters.errors,
          lastError: counters.lastError,
        })),
      });
    }
    return Promise.resolve(found);
  }

  flush(): Promise<void> {
    if (this.head >= this.queueSubs.length) return Promise.resolve();
    return new Promise<void>((resolve) => this.flushWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const service of [...this.services]) await service.stop();
    this.closed = true;
    for (const sub of this.subs) sub.active = false;
    this.subs.clear();
    this.cache.clear();
    for (const pending of [...this.pending]) pending.reject(closedError(pending.subject));
    this.stopTicker();
    this.releaseFlushWaiters();
  }

  /** @internal */
  remove(sub: Subscription): void {
    this.subs.delete(sub);
    this.cache.clear();
  }

  /** @internal */
  forget(service: InProcessService): void {
    this.services.delete(service);
  }

  private add(sub: Subscription): Subscription {
    this.subs.add(sub);
    this.cache.clear();
    return sub;
  }

  private assertOpen(subject: string): void {
    if (this.closed) throw closedError(subject);
  }

  private match(subject: string): Match {
    const cached = this.cache.get(subject);
    if (cached !== undefined) return cached;
    validateSubject(subject, 'send');
    const match = new Match();
    for (const sub of this.subs) {
      if (sub.wildcard ? !subjectMatches(sub.subject, subject) : sub.subject !== subject) continue;
      if (sub.queue === '') {
        match.plain.push(sub);
        continue;
      }
      // As in NATS, members of one queue group share messages whichever pattern they subscribed with.
      let group = match.groups.find((g) => g.name === sub.queue);
      if (group === undefined) {
        group = new QueueGroup(sub.queue);
        match.groups.push(group);
      }
      group.members.push(sub);
    }
    if (this.cache.size >= MATCH_CACHE_LIMIT) this.cache.clear();
    this.cache.set(subject, match);
    return match;
  }

  private dispatch(match: Match, message: BusMessage, pending: PendingRequest | null): void {
    const plain = match.plain;
    for (let i = 0; i < plain.length; i++) this.enqueue(plain[i] as Subscription, message, pending);
    const groups = match.groups;
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i] as QueueGroup;
      const member = group.members[group.next % group.members.length] as Subscription;
      group.next = (group.next + 1) % group.members.length;
      this.enqueue(member, message, pending);
    }
  }

  private enqueue(sub: Subscription, message: BusMessage, pending: PendingRequest | null): void {
    this.queueSubs.push(sub);
    this.queueMessages.push(message);
    this.queuePending.push(pending);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.drain);
    }
  }

  private readonly drain = (): void => {
    const subs = this.queueSubs;
    let budget = DELIVERY_BATCH;
    while (this.head < subs.length) {
      if (budget-- === 0) {
        setImmediate(this.drain);
        return;
      }
      const i = this.head++;
      const sub = subs[i] as Subscription;
      if (sub.active) sub.deliver(this.queueMessages[i] as BusMessage, this.queuePending[i] ?? null);
    }
    subs.length = 0;
    this.queueMessages.length = 0;
    this.queuePending.length = 0;
    this.head = 0;
    this.scheduled = false;
    this.releaseFlushWaiters();
  };

  private readonly expire = (): void => {
    if (this.pending.size === 0) {
      this.stopTicker();
      return;
    }
    const now = performance.now();
    for (const pending of this.pending) {
      if (pending.deadline > now) continue;
      const { subject, timeoutMs } = pending;
      pending.reject(
        new BusError(ErrorCode.ERROR_CODE_TIMEOUT, subject, `request to ${subject} timed out after ${timeoutMs} ms`),
      );
    }
  };

  private stopTicker(): void {
    if (this.ticker === null) return;
    clearInterval(this.ticker);
    this.ticker = null;
  }

  private releaseFlushWaiters(): void {
    if (this.flushWaiters.length === 0) return;
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private async serve(
    endpoint: ResolvedEndpoint,
    counters: EndpointCounters,
    where: string,
    request: BusMessage,
    pending: PendingRequest | null,
  ): Promise<void> {
    counters.requests++;
    const outcome = await invokeEndpoint(endpoint.handler, request, where, this.logger);
    if (outcome instanceof BusError) {
      counters.countError(outcome);
      // Encoded and decoded like a NATS error reply, so both buses report identical errors.
      pending?.reject(
        decodeErrorReply(request.subject, encodeErrorReply(outcome), serviceStatusOf(outcome.code), outcome.message),
      );
      return;
    }
    pending?.resolve(new Message(request.subject, outcome.data, outcome.type ?? ''));
  }
}

function noResponders(subject: string): BusError {
  return new BusError(
    ErrorCode.ERROR_CODE_NO_RESPONDERS,
    subject,
    `no responders on ${subject}: nothing listens on that subject (is the service running?)`,
  );
}

function closedError(subject: string): BusError {
  return new BusError(ErrorCode.ERROR_CODE_UNAVAILABLE, subject, `the bus is closed (${subject})`);
}

/** A bus that lives in this process; no server needed. */
export function createInProcessBus(options: InProcessBusOptions = {}): Bus {
  return new InProcessBus(options);
}
