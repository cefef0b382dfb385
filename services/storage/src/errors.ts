/** Why a storage operation failed; the block service maps each kind to a bus error code. */
export enum StorageErrorKind {
  /** The request itself is wrong: misaligned, out of range, bad argument. */
  BadRequest = 'bad-request',
  /** The image file or one of its backing files does not exist. */
  NotFound = 'not-found',
  /** The image is damaged or truncated; nothing was changed. */
  Corrupt = 'corrupt',
  /** The image uses a feature this implementation does not handle. */
  Unsupported = 'unsupported',
  /** A write reached an image opened read-only. */
  ReadOnly = 'read-only',
  /** The image was closed, or an earlier I/O failure left it unusable until reopened. */
  Unavailable = 'unavailable',
  /** The host file system failed (EIO, ENOSPC, ...). */
  Io = 'io',
}

/** The one error type of the storage layer; `message` is meant for a human. */
export class StorageError extends Error {
  constructor(
    readonly kind: StorageErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export function badRequest(message: string): StorageError {
  return new StorageError(StorageErrorKind.BadRequest, message);
}

export function corrupt(path: string, message: string): StorageError {
  return new StorageError(StorageErrorKind.Corrupt, `${path}: corrupt image: ${message}`);
}

export function unsupported(path: string, message: string): StorageError {
  return new StorageError(StorageErrorKind.Unsupported, `${path}: ${message}`);
}

/** Wraps a Node file system error with the path and operation, keeping ENOENT distinguishable. */
export function ioError(path: string, what: string, cause: unknown): StorageError {
  if (cause instanceof StorageError) return cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const detail = cause instanceof Error ? cause.message : String(cause);
  if (code === 'ENOENT') {
    return new StorageError(StorageErrorKind.NotFound, `${path}: no such file`, { cause });
  }
  return new StorageError(StorageErrorKind.Io, `${path}: ${what} failed: ${detail}`, { cause });
}
