import { ErrorCode } from '@plex86/proto';
import type { EndpointConfig, ServiceConfig } from './bus.js';
import { BusError } from './errors.js';
import { validateSubject } from './subjects.js';

/** The NATS Services API's default queue group. */
export const DEFAULT_SERVICE_QUEUE = 'q';

const NAME = /^[-\w]+$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

function bad(message: string): BusError {
  return new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, '', message);
}

function checkName(what: string, name: string): void {
  if (!NAME.test(name)) {
    throw bad(`invalid ${what} ${JSON.stringify(name)}: use letters, digits, '_' and '-'`);
  }
}

/** A service and its endpoints as both bus implementations register them. */
export interface ResolvedEndpoint extends EndpointConfig {
  readonly queue: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Checks a service definition by the rules of the NATS Services API (so the in-process bus refuses what
 * NATS would) and resolves each endpoint's queue group. Throws a BAD_REQUEST BusError.
 */
export function resolveService(config: ServiceConfig, endpoints: readonly EndpointConfig[]): ResolvedEndpoint[] {
  checkName('service name', config.name);
  if (!SEMVER.test(config.version)) {
    throw bad(`invalid version ${JSON.stringify(config.version)} of service ${config.name}: use semver, e.g. 1.0.0`);
  }
  const serviceQueue = config.queue ?? DEFAULT_SERVICE_QUEUE;
  if (serviceQueue !== '') checkName('queue group', serviceQueue);
  if (endpoints.length === 0) throw bad(`service ${config.name} has no endpoints`);
  const seen = new Set<string>();
  return endpoints.map((endpoint) => {
    checkName('endpoint name', endpoint.name);
    if (seen.has(endpoint.name)) throw bad(`service ${config.name} has two endpoints named ${endpoint.name}`);
    seen.add(endpoint.name);
    validateSubject(endpoint.subject, 'listen');
    const queue = endpoint.queue || serviceQueue;
    if (queue !== '') checkName('queue group', queue);
    if (typeof endpoint.handler !== 'function') {
      throw bad(`endpoint ${endpoint.name} of service ${config.name} has no handler`);
    }
    return { ...endpoint, queue, metadata: endpoint.metadata ?? {} };
  });
}
