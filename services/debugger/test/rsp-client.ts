/** Test-side helpers that speak the protocol as GDB does, written against the framing rules directly. */

export type Reply = { readonly kind: '+' | '-' } | { readonly kind: 'packet'; readonly text: string };

/** `$text#cc` with the checksum computed here, independently of the server's framing code. */
export function frame(text: string): Uint8Array {
  let sum = 0;
  for (let i = 0; i < text.length; i++) sum = (sum + text.charCodeAt(i)) & 0xff;
  return Buffer.from(`$${text}#${sum.toString(16).padStart(2, '0')}`, 'latin1');
}

/** Splits what the server sent into acknowledgements and packets, checking every checksum. */
export class ReplyReader {
  readonly replies: Reply[] = [];
  /** Everything ever received, in order. */
  readonly history: Reply[] = [];
  private pending = '';
  private waiters: (() => void)[] = [];

  push(chunk: Uint8Array): void {
    this.pending += Buffer.from(chunk).toString('latin1');
    for (;;) {
      const c = this.pending[0];
      if (c === undefined) break;
      if (c === '+' || c === '-') {
        this.replies.push({ kind: c });
        this.history.push({ kind: c });
        this.pending = this.pending.slice(1);
        continue;
      }
      if (c !== '$') throw new Error(`unexpected byte ${JSON.stringify(c)} from the server`);
      const hash = this.pending.indexOf('#');
      if (hash < 0 || this.pending.length < hash + 3) break;
      const text = this.pending.slice(1, hash);
      let sum = 0;
      for (let i = 0; i < text.length; i++) sum = (sum + text.charCodeAt(i)) & 0xff;
      const given = parseInt(this.pending.slice(hash + 1, hash + 3), 16);
      if (given !== sum) throw new Error(`server checksum ${given} for ${JSON.stringify(text)}, expected ${sum}`);
      this.replies.push({ kind: 'packet', text });
      this.history.push({ kind: 'packet', text });
      this.pending = this.pending.slice(hash + 3);
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Removes and returns everything received so far. */
  take(): Reply[] {
    return this.replies.splice(0);
  }

  /** Waits until a packet has arrived (acknowledgements do not count) and returns it. */
  async nextPacket(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.replies.findIndex((r) => r.kind === 'packet');
      if (index >= 0) {
        const [reply] = this.replies.splice(0, index + 1).slice(-1);
        return (reply as { text: string }).text;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no packet from the server in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

export function hexText(text: string): string {
  return Buffer.from(text, 'latin1').toString('hex');
}
