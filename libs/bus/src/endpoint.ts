import { ErrorCode } from '@plex86/proto';
import type { BusMessage, BusReply, EndpointHandler } from './bus.js';
import { BusError, toBusError } from './errors.js';
import { describeError, type BusLogger } from './logger.js';

/** Request and error counters of one endpoint, as discovery reports them. */
export class EndpointCounters {
  requests = 0;
  errors = 0;
  lastError = '';

  countError(error: BusError): void {
    this.errors++;
    this.lastError = error.message;
  }
}

/**
 * Runs an endpoint handler and returns its reply, or the BusError to answer with. A handler that throws
 * something other than a BusError is a bug in the service: it is logged and answered as INTERNAL.
 */
export async function invokeEndpoint(
  handler: EndpointHandler,
  request: BusMessage,
  where: string,
  logger: BusLogger,
): Promise<BusReply | BusError> {
  let reply: BusReply;
  try {
    reply = await handler(request);
  } catch (err) {
    if (!(err instanceof BusError))
      logger.error(`${where}: handler failed on ${request.subject}: ${describeError(err)}`);
    return toBusError(err, request.subject);
  }
  if (reply === null || typeof reply !== 'object' || !(reply.data instanceof Uint8Array)) {
    const message = `${where}: handler returned no reply payload (expected { data: Uint8Array })`;
    logger.error(message);
    return new BusError(ErrorCode.ERROR_CODE_INTERNAL, request.subject, `internal error: ${message}`);
  }
  if (reply.type !== undefined && /[\r\n]/.test(reply.type)) {
    const message = `${where}: handler returned a reply type with a line break`;
    logger.error(message);
    return new BusError(ErrorCode.ERROR_CODE_INTERNAL, request.subject, `internal error: ${message}`);
  }
  return reply;
}
