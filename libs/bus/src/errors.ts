import { Error as ProtoError, ErrorCode, errorCodeToJSON } from '@plex86/proto';

const CODE_PREFIX = 'ERROR_CODE_';

/** The fully qualified protobuf type of every error reply payload. */
export const ERROR_TYPE_NAME = 'plex86.v1.Error';

/** `BAD_REQUEST` for ErrorCode.ERROR_CODE_BAD_REQUEST, and so on. */
export function errorCodeName(code: ErrorCode): string {
  const name = errorCodeToJSON(code);
  return name.startsWith(CODE_PREFIX) ? name.slice(CODE_PREFIX.length) : name;
}

/**
 * The one error type of the bus: what went wrong (`code`), on which subject, and a message for humans.
 * Transport failures (no responders, timeouts, a lost connection) and error replies from services all
 * arrive as a BusError.
 */
export class BusError extends Error {
  override readonly name = 'BusError';
  readonly code: ErrorCode;
  readonly subject: string;
  /** The id of the failed request, when the service knew it. */
  readonly requestId: string;

  constructor(code: ErrorCode, subject: string, message: string, options?: { requestId?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.subject = subject;
    this.requestId = options?.requestId ?? '';
  }

  /** The code without its prefix, e.g. `TIMEOUT`. */
  get codeName(): string {
    return errorCodeName(this.code);
  }

  /** The error reply payload for this error. */
  toProto(): ProtoError {
    return { code: this.code, message: this.message, subject: this.subject, requestId: this.requestId };
  }

  static fromProto(error: ProtoError, fallbackSubject: string): BusError {
    const code = error.code === ErrorCode.ERROR_CODE_UNSPECIFIED ? ErrorCode.ERROR_CODE_INTERNAL : error.code;
    return new BusError(code, error.subject || fallbackSubject, error.message || `${errorCodeName(code)} error`, {
      requestId: error.requestId,
    });
  }
}

/** Whatever a handler threw, as a BusError; anything that is not one already is an INTERNAL error. */
export function toBusError(err: unknown, subject: string): BusError {
  if (err instanceof BusError) return err;
  const text = err instanceof Error ? err.message : String(err);
  return new BusError(ErrorCode.ERROR_CODE_INTERNAL, subject, `internal error: ${text}`, { cause: err });
}

// The NATS Services API carries an HTTP-like status in `Nats-Service-Error-Code`, so tools that know
// nothing of plex86 still see what kind of failure it was; the exact code travels in the payload.
const STATUS_BY_CODE: ReadonlyMap<ErrorCode, number> = new Map([
  [ErrorCode.ERROR_CODE_BAD_REQUEST, 400],
  [ErrorCode.ERROR_CODE_NOT_FOUND, 404],
  [ErrorCode.ERROR_CODE_FAILED_PRECONDITION, 409],
  [ErrorCode.ERROR_CODE_INTERNAL, 500],
  [ErrorCode.ERROR_CODE_UNIMPLEMENTED, 501],
  [ErrorCode.ERROR_CODE_UNAVAILABLE, 503],
  [ErrorCode.ERROR_CODE_NO_RESPONDERS, 503],
  [ErrorCode.ERROR_CODE_TIMEOUT, 504],
]);

/** The `Nats-Service-Error-Code` status for an error code. */
export function serviceStatusOf(code: ErrorCode): number {
  return STATUS_BY_CODE.get(code) ?? 500;
}

/** The error code for a `Nats-Service-Error-Code` status, for replies that carry no plex86 payload. */
export function errorCodeOfStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return ErrorCode.ERROR_CODE_BAD_REQUEST;
    case 404:
      return ErrorCode.ERROR_CODE_NOT_FOUND;
    case 409:
      return ErrorCode.ERROR_CODE_FAILED_PRECONDITION;
    case 501:
      return ErrorCode.ERROR_CODE_UNIMPLEMENTED;
    case 503:
      return ErrorCode.ERROR_CODE_UNAVAILABLE;
    case 408:
    case 504:
      return ErrorCode.ERROR_CODE_TIMEOUT;
    default:
      return ErrorCode.ERROR_CODE_INTERNAL;
  }
}

/** Encodes an error reply payload (`plex86.v1.Error`). */
export function encodeErrorReply(error: BusError): Uint8Array {
  return ProtoError.encode(error.toProto()).finish();
}

/**
 * Turns an error reply back into a BusError. The payload decides when it is a plex86 error; otherwise
 * (a foreign service, or a payload that does not decode) the status and description are used.
 */
export function decodeErrorReply(subject: string, data: Uint8Array, status: number, description: string): BusError {
  if (data.length > 0) {
    try {
      return BusError.fromProto(ProtoError.decode(data), subject);
    } catch {
      // Not a plex86 error payload; fall through to the status.
    }
  }
  const code = errorCodeOfStatus(status);
  return new BusError(code, subject, description || `${errorCodeName(code)} error (status ${status})`);
}
