import type { ByteSink } from './debugcon.js';

/**
 * Collects the bytes a device writes one at a time (debug console, UART) and hands them on in
 * chunks of up to 4 KiB: when the buffer fills and when the run loop flushes, once per slice.
 */
export class ByteOutput {
  private readonly buf = new Uint8Array(4096);
  private len = 0;
  constructor(private readonly write: (data: Uint8Array) => void) {}
  readonly sink: ByteSink = (b) => {
    if (this.len === this.buf.length) this.flush();
    this.buf[this.len++] = b;
  };
  flush(): void {
    if (this.len === 0) return;
    this.write(this.buf.slice(0, this.len));
    this.len = 0;
  }
}
