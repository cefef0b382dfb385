import { Error as ProtoError, ErrorCode } from '@plex86/proto';
import { describe, expect, it } from 'vitest';
import {
  BusError,
  decodeErrorReply,
  encodeErrorReply,
  errorCodeName,
  errorCodeOfStatus,
  serviceStatusOf,
  toBusError,
} from './errors.js';

describe('BusError', () => {
  it('carries code, subject, request id and a readable code name', () => {
    const err = new BusError(ErrorCode.ERROR_CODE_FAILED_PRECONDITION, 'plex86.vm1.control.start', 'only in CREATED', {
      requestId: 'r9',
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('BusError');
    expect(err.codeName).toBe('FAILED_PRECONDITION');
    expect(err.toProto()).toEqual({
      code: ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
      message: 'only in CREATED',
      subject: 'plex86.vm1.control.start',
      requestId: 'r9',
    });
    expect(String(err)).toBe('BusError: only in CREATED');
  });

  it('round-trips through the error reply payload', () => {
    const err = new BusError(ErrorCode.ERROR_CODE_NOT_FOUND, 's.x', 'no disk vdb', { requestId: 'id-1' });
    const back = decodeErrorReply('other', encodeErrorReply(err), 404, 'ignored');
    expect(back).toMatchObject({ code: err.code, subject: 's.x', message: 'no disk vdb', requestId: 'id-1' });
  });

  it('treats an unspecified code as INTERNAL and fills in a missing subject', () => {
    const back = BusError.fromProto(ProtoError.fromPartial({ message: 'odd' }), 'fallback.subject');
    expect(back.code).toBe(ErrorCode.ERROR_CODE_INTERNAL);
    expect(back.subject).toBe('fallback.subject');
  });

  it('falls back to the status and description when the payload is absent or not a plex86 error', () => {
    const empty = decodeErrorReply('s', new Uint8Array(), 409, 'busy');
    expect(empty).toMatchObject({ code: ErrorCode.ERROR_CODE_FAILED_PRECONDITION, message: 'busy', subject: 's' });
    const garbage = decodeErrorReply('s', Uint8Array.of(0x12, 0x7f), 503, '');
    expect(garbage.code).toBe(ErrorCode.ERROR_CODE_UNAVAILABLE);
    expect(garbage.message).toBe('UNAVAILABLE error (status 503)');
  });

  it('maps codes to NATS service statuses and back', () => {
    const codes = [
      ErrorCode.ERROR_CODE_BAD_REQUEST,
      ErrorCode.ERROR_CODE_NOT_FOUND,
      ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
      ErrorCode.ERROR_CODE_UNAVAILABLE,
      ErrorCode.ERROR_CODE_INTERNAL,
      ErrorCode.ERROR_CODE_TIMEOUT,
      ErrorCode.ERROR_CODE_UNIMPLEMENTED,
    ];
    for (const code of codes) expect(errorCodeOfStatus(serviceStatusOf(code))).toBe(code);
    expect(serviceStatusOf(ErrorCode.ERROR_CODE_NO_RESPONDERS)).toBe(503);
    expect(errorCodeOfStatus(418)).toBe(ErrorCode.ERROR_CODE_INTERNAL);
    expect(errorCodeName(ErrorCode.ERROR_CODE_NO_RESPONDERS)).toBe('NO_RESPONDERS');
  });

  it('wraps anything thrown as INTERNAL, keeping BusErrors as they are', () => {
    const own = new BusError(ErrorCode.ERROR_CODE_TIMEOUT, 's', 'slow');
    expect(toBusError(own, 'x')).toBe(own);
    const wrapped = toBusError(new TypeError('boom'), 'svc.x');
    expect(wrapped).toMatchObject({
      code: ErrorCode.ERROR_CODE_INTERNAL,
      subject: 'svc.x',
      message: 'internal error: boom',
    });
    expect(toBusError('text', 's').message).toBe('internal error: text');
  });
});
