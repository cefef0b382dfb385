import { ErrorCode } from '@plex86/proto';
import { BusError } from './errors.js';

/** setTimeout's limit; longer timeouts would fire at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const LINE_BREAK = /[\r\n]/;
const WHITESPACE = /\s/;

// Argument checks both bus implementations share, so they refuse the same input with the same error.

export function checkPayload(subject: string, data: Uint8Array): void {
  if (!(data instanceof Uint8Array)) {
    throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, subject, `payload for ${subject} must be a Uint8Array`);
  }
}

/** Type names travel in a header, which cannot hold line breaks. */
export function checkType(subject: string, type: string | undefined): void {
  if (type !== undefined && type !== '' && LINE_BREAK.test(type)) {
    throw new BusError(
      ErrorCode.ERROR_CODE_BAD_REQUEST,
      subject,
      `invalid payload type ${JSON.stringify(type)} for ${subject}: line breaks are not allowed`,
    );
  }
}

export function checkQueue(subject: string, queue: string): void {
  if (WHITESPACE.test(queue)) {
    throw new BusError(
      ErrorCode.ERROR_CODE_BAD_REQUEST,
      subject,
      `invalid queue group ${JSON.stringify(queue)} on ${subject}: whitespace is not allowed`,
    );
  }
}

export function checkTimeout(subject: string, timeoutMs: number): void {
  if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
    throw new BusError(
      ErrorCode.ERROR_CODE_BAD_REQUEST,
      subject,
      `invalid timeout ${timeoutMs} ms for ${subject}: use 1 to ${MAX_TIMEOUT_MS} ms`,
    );
  }
}
