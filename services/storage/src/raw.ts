import { checkRange, SECTOR_SIZE, type BlockImage } from './block-image.js';
import { badRequest, StorageError, StorageErrorKind } from './errors.js';
import { ImageFile } from './file.js';
import { IoScheduler } from './scheduler.js';

type RawOp = { offset: number; data: Uint8Array | null; length: number };

const ZERO_CHUNK = 1 << 20;

/** A raw disk image: the file holds the disk byte for byte. */
export class RawImage implements BlockImage {
  readonly format = 'raw' as const;
  readonly backing = null;
  private readonly io: IoScheduler<RawOp>;
  private zeros: Uint8Array | null = null;

  private constructor(
    private readonly file: ImageFile,
    private size: number,
  ) {
    this.io = new IoScheduler((ops) => this.runBatch(ops));
  }

  static async open(path: string, options: { readOnly?: boolean } = {}): Promise<RawImage> {
    const file = await ImageFile.open(path, !options.readOnly);
    try {
      return await RawImage.fromFile(file);
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  /** Wraps an open file; the image owns it from now on. */
  static async fromFile(file: ImageFile): Promise<RawImage> {
    return new RawImage(file, await file.size());
  }

  /** Creates a sparse raw image of `size` bytes. */
  static async create(path: string, size: number): Promise<void> {
    if (!Number.isSafeInteger(size) || size <= 0 || size % SECTOR_SIZE !== 0) {
      throw badRequest(`image size must be a positive multiple of ${SECTOR_SIZE} bytes, got ${size}`);
    }
    const file = await ImageFile.create(path);
    try {
      await file.truncate(size);
      await file.datasync();
    } finally {
      await file.close();
    }
  }

  get path(): string {
    return this.file.path;
  }

  get readOnly(): boolean {
    return !this.file.writable;
  }

  /** The file size; a last partial sector is addressable and reads as zero past the end. */
  get virtualSize(): number {
    return this.size;
  }

  read(offset: number, into: Uint8Array): Promise<void> {
    checkRange(offset, into.length, this.addressable());
    return this.io.read(async () => void (await this.file.read(offset, into)));
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    this.checkWritable();
    checkRange(offset, data.length, this.addressable());
    return this.io.mutate({ offset, data, length: data.length });
  }

  writeZeroes(offset: number, length: number): Promise<void> {
    this.checkWritable();
    checkRange(offset, length, this.addressable());
    return this.io.mutate({ offset, data: null, length });
  }

  /** A raw file cannot drop ranges portably; discard is advisory, so it changes nothing. */
  async discard(offset: number, length: number): Promise<void> {
    this.checkWritable();
    checkRange(offset, length, this.addressable());
  }

  async flush(): Promise<void> {
    await this.io.idle();
    if (this.file.writable) await this.file.datasync();
  }

  /** Grows the image (commit of a larger overlay); shrinking is refused. */
  async resize(size: number): Promise<void> {
    this.checkWritable();
    if (size < this.size) throw badRequest(`${this.path}: refusing to shrink a raw image`);
    await this.io.idle();
    await this.file.truncate(size);
    await this.file.datasync();
    this.size = size;
  }

  async close(): Promise<void> {
    await this.io.idle();
    await this.file.close();
  }

  private addressable(): number {
    return Math.ceil(this.size / SECTOR_SIZE) * SECTOR_SIZE;
  }

  private checkWritable(): void {
    if (this.readOnly) throw new StorageError(StorageErrorKind.ReadOnly, `${this.path}: image is read-only`);
  }

  private async runBatch(ops: readonly RawOp[]): Promise<void> {
    for (const op of ops) {
      if (op.data) {
        await this.file.write(op.offset, op.data);
        continue;
      }
      this.zeros ??= new Uint8Array(ZERO_CHUNK);
      for (let done = 0; done < op.length; done += ZERO_CHUNK) {
        const n = Math.min(ZERO_CHUNK, op.length - done);
        await this.file.write(op.offset + done, this.zeros.subarray(0, n));
      }
    }
    await this.file.datasync();
  }
}
