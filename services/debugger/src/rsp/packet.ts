/**
 * GDB remote serial protocol framing (GDB manual, "Remote Protocol", "Overview"): packets are
 * `$payload#cc` with `cc` the modulo-256 sum of the payload bytes as sent, in two hex digits. Inside a
 * payload `}` escapes the next byte (XOR 0x20) and `*n` repeats the previous byte `n - 29` times.
 * Between packets the peer sends `+`/`-` acknowledgements and 0x03 to interrupt the target.
 */

export const enum Ch {
  CTRL_C = 0x03,
  HASH = 0x23,
  DOLLAR = 0x24,
  STAR = 0x2a,
  PLUS = 0x2b,
  MINUS = 0x2d,
  ESCAPE = 0x7d,
}

/** Run-length counts are printable characters: `n - 29` repeats, so ' ' (32) repeats three times. */
const RLE_BIAS = 29;

/** What the parser reports; payload views are only valid during the call. */
export interface PacketEvents {
  /** A packet with a correct checksum, unescaped and run-length expanded. */
  packet(payload: Uint8Array): void;
  /** A packet whose checksum did not match, or whose run-length encoding was malformed. */
  badPacket(reason: string): void;
  /** A packet with a correct frame but more than `maxPayload` bytes once decoded; its bytes are dropped. */
  overlong(length: number): void;
  /** 0x03 between packets. */
  interrupt(): void;
  /** `+` (true) or `-` (false) between packets. */
  ack(positive: boolean): void;
}

const enum State {
  IDLE,
  DATA,
  ESCAPE,
  REPEAT,
  CHECKSUM_HIGH,
  CHECKSUM_LOW,
}

/** A byte-level state machine over the incoming stream; no allocation per packet. */
export class PacketParser {
  private state = State.IDLE;
  private readonly buffer: Uint8Array;
  private length = 0;
  private sum = 0;
  private received = 0;
  private malformed = '';

  constructor(
    private readonly events: PacketEvents,
    readonly maxPayload: number,
  ) {
    this.buffer = new Uint8Array(maxPayload);
  }

  feed(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) this.byte(chunk[i]);
  }

  private byte(c: number): void {
    switch (this.state) {
      case State.IDLE:
        if (c === Ch.DOLLAR) this.begin();
        else if (c === Ch.CTRL_C) this.events.interrupt();
        else if (c === Ch.PLUS) this.events.ack(true);
        else if (c === Ch.MINUS) this.events.ack(false);
        // Anything else between packets is line noise.
        return;
      case State.DATA:
        if (c === Ch.HASH) {
          this.state = State.CHECKSUM_HIGH;
          return;
        }
        if (c === Ch.DOLLAR) {
          // A new frame before the end of this one: the peer gave up on it.
          this.begin();
          return;
        }
        this.sum = (this.sum + c) & 0xff;
        if (c === Ch.ESCAPE) this.state = State.ESCAPE;
        else if (c === Ch.STAR) this.state = State.REPEAT;
        else this.put(c);
        return;
      case State.ESCAPE:
        this.sum = (this.sum + c) & 0xff;
        this.put(c ^ 0x20);
        this.state = State.DATA;
        return;
      case State.REPEAT: {
        // '#' and '$' are never counts: the frame ends (or restarts) there, with the repeat malformed.
        if (c === Ch.HASH || c === Ch.DOLLAR) {
          this.state = State.DATA;
          this.malformed ||= 'run-length marker with no count';
          this.byte(c);
          return;
        }
        this.sum = (this.sum + c) & 0xff;
        this.state = State.DATA;
        const count = c - RLE_BIAS;
        if (this.length === 0) {
          this.malformed ||= 'run-length count with no byte to repeat';
          return;
        }
        if (count < 1 || c > 0x7e) {
          this.malformed ||= `bad run-length count 0x${c.toString(16)}`;
          return;
        }
        const previous = this.length > 0 ? this.buffer[this.length - 1] : 0;
        for (let k = 0; k < count; k++) this.put(previous);
        return;
      }
      case State.CHECKSUM_HIGH: {
        const v = hexValue(c);
        this.received = v < 0 ? -1 : v << 4;
        this.state = State.CHECKSUM_LOW;
        return;
      }
      case State.CHECKSUM_LOW: {
        const v = hexValue(c);
        const expected = this.received < 0 || v < 0 ? -1 : this.received | v;
        this.state = State.IDLE;
        this.finish(expected);
        return;
      }
    }
  }

  private begin(): void {
    this.state = State.DATA;
    this.length = 0;
    this.sum = 0;
    this.received = 0;
    this.malformed = '';
  }

  private put(c: number): void {
    // Bytes past the limit are counted, not stored, so the frame still ends in sync.
    if (this.length < this.buffer.length) this.buffer[this.length] = c;
    this.length++;
  }

  private finish(expected: number): void {
    if (expected !== this.sum) {
      this.events.badPacket(
        expected < 0
          ? 'checksum is not two hex digits'
          : `checksum mismatch: got ${hex2(expected)}, computed ${hex2(this.sum)}`,
      );
      return;
    }
    if (this.malformed !== '') {
      this.events.badPacket(this.malformed);
      return;
    }
    if (this.length > this.buffer.length) {
      this.events.overlong(this.length);
      return;
    }
    this.events.packet(this.buffer.subarray(0, this.length));
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function hex2(v: number): string {
  return v.toString(16).padStart(2, '0');
}

/** Frames a payload as `$payload#cc`; the payload must already be escaped where its packet needs it. */
export function framePacket(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 4);
  out[0] = Ch.DOLLAR;
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    sum += payload[i];
    out[i + 1] = payload[i];
  }
  sum &= 0xff;
  out[payload.length + 1] = Ch.HASH;
  out[payload.length + 2] = HEX_DIGITS.charCodeAt(sum >> 4);
  out[payload.length + 3] = HEX_DIGITS.charCodeAt(sum & 15);
  return out;
}

const HEX_DIGITS = '0123456789abcdef';

/** Escapes `$`, `#`, `}` and `*` for binary data (X packets, qXfer replies). */
export function escapeBinary(data: Uint8Array): Uint8Array {
  let extra = 0;
  for (let i = 0; i < data.length; i++) if (needsEscape(data[i])) extra++;
  if (extra === 0) return data;
  const out = new Uint8Array(data.length + extra);
  let j = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if (needsEscape(c)) {
      out[j++] = Ch.ESCAPE;
      out[j++] = c ^ 0x20;
    } else {
      out[j++] = c;
    }
  }
  return out;
}

function needsEscape(c: number): boolean {
  return c === Ch.DOLLAR || c === Ch.HASH || c === Ch.ESCAPE || c === Ch.STAR;
}

/** Bytes as lowercase hex. */
export function toHex(data: Uint8Array): string {
  let s = '';
  for (let i = 0; i < data.length; i++) s += HEX_DIGITS[data[i] >> 4] + HEX_DIGITS[data[i] & 15];
  return s;
}

/** Hex text to bytes, or undefined when it is not an even number of hex digits. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const high = hexValue(text.charCodeAt(2 * i));
    const low = hexValue(text.charCodeAt(2 * i + 1));
    if (high < 0 || low < 0) return undefined;
    out[i] = (high << 4) | low;
  }
  return out;
}

/** A protocol hex number (at most 16 digits), or undefined when it is not one. */
export function parseHexNumber(text: string): number | undefined {
  if (text.length === 0 || text.length > 16) return undefined;
  let v = 0;
  for (let i = 0; i < text.length; i++) {
    const d = hexValue(text.charCodeAt(i));
    if (d < 0) return undefined;
    v = v * 16 + d;
  }
  return Number.isSafeInteger(v) ? v : undefined;
}
