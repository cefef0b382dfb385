/** Request timeout (ms) when neither the bus nor the request sets one. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

/** A message on the bus. Payloads are protobuf bytes; `type` names their message type. */
export interface BusMessage {
  /** The subject it was sent to (for a reply: the subject of the request). */
  readonly subject: string;
  readonly data: Uint8Array;
  /** Fully qualified protobuf type of `data` (e.g. `plex86.v1.StepRequest`), '' when unknown. */
  readonly type: string;
}

export interface RequestOptions {
  /** How long to wait for the reply; the bus default applies when absent. */
  readonly timeoutMs?: number;
  /** Fully qualified protobuf type of the request payload. */
  readonly type?: string;
}

export interface PublishOptions {
  /** Fully qualified protobuf type of the payload. */
  readonly type?: string;
}

export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group; '' or absent for a plain subscriber. */
  readonly queue?: string;
}

/** Receives published messages (and requests, which it sees but cannot answer). */
export type MessageHandler = (message: BusMessage) => void | Promise<void>;

export interface BusSubscription {
  readonly subject: string;
  readonly queue: string;
  /** Stops delivery; calling it again does nothing. */
  unsubscribe(): void;
}

/** What an endpoint answers: the reply payload and its protobuf type. */
export interface BusReply {
  readonly data: Uint8Array;
  readonly type?: string;
}

/**
 * Answers one request. Throwing a BusError sends an error reply with its code; throwing anything else
 * sends an INTERNAL error reply. A service never crashes on input.
 */
export type EndpointHandler = (request: BusMessage) => BusReply | Promise<BusReply>;

export interface EndpointConfig {
  /** Endpoint name: letters, digits, `_` and `-`. */
  readonly name: string;
  /** Subject it listens on (wildcards allowed). */
  readonly subject: string;
  readonly handler: EndpointHandler;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Overrides the service's queue group for this endpoint ('' keeps the service's). */
  readonly queue?: string;
}

export interface ServiceConfig {
  /** Service name: letters, digits, `_` and `-`, e.g. `plex-monitor`. */
  readonly name: string;
  /** Semantic version, e.g. `0.1.0`. */
  readonly version: string;
  readonly description?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Queue group of its endpoints: default `q` (instances share the load); '' for none (all answer). */
  readonly queue?: string;
}

/** A running service. */
export interface BusService {
  /** Unique id of this instance. */
  readonly id: string;
  readonly name: string;
  /** Stops answering and disappears from discovery; calling it again does nothing. */
  stop(): Promise<void>;
}

/** An endpoint as discovery reports it, with its counters. */
export interface DiscoveredEndpoint {
  readonly name: string;
  readonly subject: string;
  /** '' when the endpoint is not in a queue group. */
  readonly queueGroup: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Requests received. */
  readonly requests: number;
  /** Requests answered with an error reply. */
  readonly errors: number;
  /** Message of the most recent error, '' when none. */
  readonly lastError: string;
}

/** One running service instance, as `$SRV.INFO` and `$SRV.STATS` report it. */
export interface DiscoveredService {
  readonly name: string;
  readonly id: string;
  readonly version: string;
  readonly description: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly endpoints: readonly DiscoveredEndpoint[];
}

/**
 * The transport every plex86 component talks through. Two implementations behave the same: NATS (the
 * distributed engine) and in-process (one process, no server). Every failure is a BusError.
 */
export interface Bus {
  readonly kind: 'nats' | 'in-process';
  /** Sends a request and resolves with the reply; an error reply rejects with its BusError. */
  request(subject: string, data: Uint8Array, options?: RequestOptions): Promise<BusMessage>;
  /** Sends a message to every subscriber (one member per queue group); nothing comes back. */
  publish(subject: string, data: Uint8Array, options?: PublishOptions): void;
  subscribe(subject: string, handler: MessageHandler, options?: SubscribeOptions): BusSubscription;
  /**
   * Registers a service whose endpoints answer requests and report themselves to discovery; resolves
   * once the endpoints can be reached.
   */
  addService(config: ServiceConfig, endpoints: readonly EndpointConfig[]): Promise<BusService>;
  /** Every reachable service with its endpoints and request/error counts. */
  discover(): Promise<DiscoveredService[]>;
  /** Resolves once everything published so far has been handed to the transport and delivered. */
  flush(): Promise<void>;
  /** Stops services and subscriptions and releases the connection; later calls fail with UNAVAILABLE. */
  close(): Promise<void>;
}
