import { open, type FileHandle } from 'node:fs/promises';
import { ioError, StorageError, StorageErrorKind } from './errors.js';

/**
 * A host file opened for image I/O. Reads past the end of the file return zeros (as a disk
 * would), writes are complete or throw, and every failure names the file.
 */
export class ImageFile {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly writable: boolean,
  ) {}

  static async open(path: string, writable: boolean): Promise<ImageFile> {
    try {
      return new ImageFile(path, await open(path, writable ? 'r+' : 'r'), writable);
    } catch (e) {
      throw ioError(path, 'open', e);
    }
  }

  /** Creates a new file; fails if it exists unless `overwrite`. */
  static async create(path: string, overwrite = false): Promise<ImageFile> {
    try {
      return new ImageFile(path, await open(path, overwrite ? 'w+' : 'wx+'), true);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new StorageError(StorageErrorKind.BadRequest, `${path}: file exists`);
      }
      throw ioError(path, 'create', e);
    }
  }

  async size(): Promise<number> {
    this.checkOpen();
    try {
      return (await this.handle.stat()).size;
    } catch (e) {
      throw ioError(this.path, 'stat', e);
    }
  }

  /** Reads into the whole of `into`; the part past the end of the file reads as zeros. Returns bytes read from the file. */
  async read(position: number, into: Uint8Array): Promise<number> {
    this.checkOpen();
    let done = 0;
    try {
      while (done < into.length) {
        const { bytesRead } = await this.handle.read(into, done, into.length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    } catch (e) {
      throw ioError(this.path, `read of ${into.length} bytes at ${position}`, e);
    }
    if (done < into.length) into.fill(0, done);
    return done;
  }

  async write(position: number, data: Uint8Array): Promise<void> {
    this.checkOpen();
    let done = 0;
    try {
      while (done < data.length) {
        const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
    } catch (e) {
      throw ioError(this.path, `write of ${data.length} bytes at ${position}`, e);
    }
  }

  /** Writes `buffers` back to back from `position`. */
  async writev(position: number, buffers: readonly Uint8Array[]): Promise<void> {
    this.checkOpen();
    const total = buffers.reduce((n, b) => n + b.length, 0);
    let written: number;
    try {
      written = (await this.handle.writev(buffers as Uint8Array[], position)).bytesWritten;
    } catch (e) {
      throw ioError(this.path, `write of ${total} bytes at ${position}`, e);
    }
    // A short vectored write is rare; finish it buffer by buffer.
    let at = 0;
    for (const b of buffers) {
      if (written < at + b.length) {
        const skip = Math.max(0, written - at);
        await this.write(position + at + skip, b.subarray(skip));
      }
      at += b.length;
    }
  }

  /** Makes written data durable (and the file size, which fdatasync covers). */
  async datasync(): Promise<void> {
    this.checkOpen();
    try {
      await this.handle.datasync();
    } catch (e) {
      throw ioError(this.path, 'fdatasync', e);
    }
  }

  async truncate(length: number): Promise<void> {
    this.checkOpen();
    try {
      await this.handle.truncate(length);
    } catch (e) {
      throw ioError(this.path, `truncate to ${length}`, e);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.handle.close();
    } catch (e) {
      throw ioError(this.path, 'close', e);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError(StorageErrorKind.Unavailable, `${this.path}: image is closed`);
  }
}
