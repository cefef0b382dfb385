import { ErrorCode } from '@plex86/proto';
import type { Bus, BusService, EndpointConfig, ServiceConfig } from './bus.js';
import { BusError } from './errors.js';
import { describeError, stderrLogger, type BusLogger } from './logger.js';
import { validateSubject } from './subjects.js';
import { protoTypeName } from './type-names.js';

/** The part of a ts-proto `MessageFns<T>` the bus needs. */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** One method of a ts-proto generic service definition (`outputServices=generic-definitions`). */
export interface MethodDefinition<Req = unknown, Res = unknown> {
  readonly name: string;
  readonly requestType: MessageCodec<Req>;
  readonly responseType: MessageCodec<Res>;
  readonly requestStream?: boolean;
  readonly responseStream?: boolean;
}

/** A ts-proto generic service definition: `{ name, fullName, methods: { step: { name: 'Step', ... } } }`. */
export interface ServiceDefinition {
  readonly name: string;
  readonly fullName?: string;
  readonly methods: { readonly [key: string]: MethodDefinition };
}

export type RequestOf<M> = M extends { readonly requestType: MessageCodec<infer R> } ? R : never;
export type ResponseOf<M> = M extends { readonly responseType: MessageCodec<infer R> } ? R : never;

/** What a method handler knows about the call besides the decoded request. */
export interface CallContext {
  readonly subject: string;
  /** The method name as the definition spells it, e.g. `ReadMemory`. */
  readonly method: string;
}

/** One handler per method of a definition, typed by its request and response messages. */
export type MethodHandlers<D extends ServiceDefinition> = {
  readonly [K in keyof D['methods']]: (
    request: RequestOf<D['methods'][K]>,
    context: CallContext,
  ) => ResponseOf<D['methods'][K]> | Promise<ResponseOf<D['methods'][K]>>;
};

export interface ServeMethodsOptions {
  /** Receives one line per undecodable request and per failing handler. */
  readonly logger?: BusLogger;
}

/** `ReadMemory` → `read-memory`, `GetVMState` → `get-vm-state`. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** Subject of a method endpoint: `<prefix>.<method in kebab-case>`. */
export function methodSubject(subjectPrefix: string, methodName: string): string {
  return `${subjectPrefix}.${kebabCase(methodName)}`;
}

function methodEndpoint<Req, Res>(
  serviceName: string,
  subjectPrefix: string,
  method: MethodDefinition<Req, Res>,
  handler: (request: Req, context: CallContext) => Res | Promise<Res>,
  logger: BusLogger,
): EndpointConfig {
  const where = `service ${serviceName} method ${method.name}`;
  const requestTypeName = protoTypeName(method.requestType);
  const responseTypeName = protoTypeName(method.responseType);
  const requestLabel = requestTypeName || `the ${method.name} request`;
  const name = kebabCase(method.name);
  return {
    name,
    subject: methodSubject(subjectPrefix, method.name),
    metadata: { method: method.name, request: requestTypeName, response: responseTypeName },
    handler: async (message) => {
      const subject = message.subject;
      if (message.type !== '' && requestTypeName !== '' && message.type !== requestTypeName) {
        const text = `${subject} expects ${requestTypeName}, got ${message.type}`;
        logger.warn(`${where}: ${text}`);
        throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, subject, text);
      }
      let request: Req;
      try {
        request = method.requestType.decode(message.data);
      } catch (err) {
        const text = `cannot decode ${requestLabel} (${message.data.length} bytes on ${subject}): ${describeError(err)}`;
        logger.warn(`${where}: ${text}`);
        throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, subject, text);
      }
      let response: Res;
      try {
        response = await handler(request, { subject, method: method.name });
      } catch (err) {
        if (err instanceof BusError) throw err;
        logger.error(`${where}: handler failed on ${subject}: ${describeError(err)}`);
        throw new BusError(
          ErrorCode.ERROR_CODE_INTERNAL,
          subject,
          `internal error in ${method.name}: ${describeError(err)}`,
          {
            cause: err,
          },
        );
      }
      try {
        return { data: method.responseType.encode(response).finish(), type: responseTypeName };
      } catch (err) {
        logger.error(`${where}: cannot encode the response: ${describeError(err)}`);
        throw new BusError(
          ErrorCode.ERROR_CODE_INTERNAL,
          subject,
          `internal error in ${method.name}: cannot encode the response: ${describeError(err)}`,
        );
      }
    },
  };
}

/**
 * Registers a service with one endpoint per method of a ts-proto definition, on `<prefix>.<method in
 * kebab-case>`. Requests are decoded and responses encoded here; a request that does not decode gets a
 * BAD_REQUEST error reply and one log line, and a handler that throws gets an error reply with its
 * BusError's code (INTERNAL for anything else). Streaming methods are refused.
 */
export function serveMethods<D extends ServiceDefinition>(
  bus: Bus,
  config: ServiceConfig,
  subjectPrefix: string,
  definition: D,
  handlers: MethodHandlers<D>,
  options: ServeMethodsOptions = {},
): Promise<BusService> {
  const logger = options.logger ?? stderrLogger;
  try {
    validateSubject(subjectPrefix, 'listen');
    const endpoints = Object.keys(definition.methods).map((key) => {
      const method = definition.methods[key] as MethodDefinition;
      if (method.requestStream || method.responseStream) {
        throw new BusError(
          ErrorCode.ERROR_CODE_UNIMPLEMENTED,
          '',
          `${definition.name}.${method.name} streams; the bus serves unary methods only`,
        );
      }
      const handler = (handlers as Record<string, unknown>)[key];
      if (typeof handler !== 'function') {
        throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, '', `no handler for ${definition.name}.${method.name}`);
      }
      return methodEndpoint(
        config.name,
        subjectPrefix,
        method,
        handler as (request: unknown, context: CallContext) => unknown,
        logger,
      );
    });
    return bus.addService(
      { ...config, metadata: { service: definition.fullName ?? definition.name, ...config.metadata } },
      endpoints,
    );
  } catch (err) {
    return Promise.reject(err);
  }
}

export interface CallOptions {
  readonly timeoutMs?: number;
}

/** Sends a typed request and decodes the typed reply; every failure is a BusError. */
export async function callMethod<Req, Res>(
  bus: Bus,
  subject: string,
  requestType: MessageCodec<Req>,
  responseType: MessageCodec<Res>,
  request: Req,
  options: CallOptions = {},
): Promise<Res> {
  const data = requestType.encode(request).finish();
  const reply = await bus.request(subject, data, { timeoutMs: options.timeoutMs, type: protoTypeName(requestType) });
  const expected = protoTypeName(responseType);
  if (reply.type !== '' && expected !== '' && reply.type !== expected) {
    throw new BusError(
      ErrorCode.ERROR_CODE_INTERNAL,
      subject,
      `${subject} answered with ${reply.type}, expected ${expected}`,
    );
  }
  try {
    return responseType.decode(reply.data);
  } catch (err) {
    throw new BusError(
      ErrorCode.ERROR_CODE_INTERNAL,
      subject,
      `cannot decode the reply from ${subject} as ${expected || 'the response type'}: ${describeError(err)}`,
      { cause: err },
    );
  }
}

/** A client with one method per method of a definition, calling `<prefix>.<method in kebab-case>`. */
export type MethodClient<D extends ServiceDefinition> = {
  readonly [K in keyof D['methods']]: (
    request: RequestOf<D['methods'][K]>,
    options?: CallOptions,
  ) => Promise<ResponseOf<D['methods'][K]>>;
};

export function methodClient<D extends ServiceDefinition>(
  bus: Bus,
  subjectPrefix: string,
  definition: D,
): MethodClient<D> {
  validateSubject(subjectPrefix, 'send');
  const client: Record<string, (request: unknown, options?: CallOptions) => Promise<unknown>> = {};
  for (const key of Object.keys(definition.methods)) {
    const method = definition.methods[key] as MethodDefinition;
    const subject = methodSubject(subjectPrefix, method.name);
    client[key] = (request, options) =>
      callMethod(bus, subject, method.requestType, method.responseType, request, options);
  }
  return client as MethodClient<D>;
}
