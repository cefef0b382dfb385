/**
 * One GDB connection: acknowledgements, the packet dispatcher and the run state. Packets are handled
 * one at a time in arrival order; a continue holds the queue until the target stops, as GDB's all-stop
 * mode expects. Ctrl-C is handled out of band, at once.
 */

import {
  BreakpointKind,
  ExitReason,
  StopReason,
  WatchKind,
  type GetDebugStatusResponse,
  type StopEvent,
} from '@plex86/proto';
import { TargetUnsupportedError, type DebugTarget } from '../target.js';
import { runMonitorCommand } from './monitor.js';
import { Ch, escapeBinary, framePacket, fromHex, PacketParser, parseHexNumber, toHex } from './packet.js';
import {
  applyRegister,
  applyRegisterFile,
  encodeRegister,
  encodeRegisterFile,
  REGISTER_FILE_SIZE,
  targetDescription,
} from './registers.js';

/** The byte stream to the client. */
export interface RspConnection {
  write(data: Uint8Array): void;
  close(): void;
}

export interface RspSessionOptions {
  /** Largest packet payload accepted (the qSupported PacketSize); 16 KiB by default. */
  readonly maxPacketSize?: number;
  /** One line per protocol error and target failure. */
  readonly log?: (line: string) => void;
}

export const DEFAULT_PACKET_SIZE = 0x4000;
/** Linear addresses are 32 bits wide. */
const ADDRESS_LIMIT = 0x1_0000_0000;
/** The bus's ReadMemory/WriteMemory limit. */
const MEMORY_CHUNK = 0x10000;
/** GDB's only thread. */
const THREAD = 'thread:1;';

const ERR_MALFORMED = 'E01';
const ERR_TARGET = 'E05';
const ERR_FAULT = 'E0e';

const latin1 = new TextDecoder('latin1');

function bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `addr,len` with both in range, or undefined. */
function parseRange(text: string, maxLength: number): { address: number; length: number } | undefined {
  const comma = text.indexOf(',');
  if (comma < 0) return undefined;
  const address = parseHexNumber(text.slice(0, comma));
  const length = parseHexNumber(text.slice(comma + 1));
  if (address === undefined || length === undefined || address >= ADDRESS_LIMIT || length > maxLength) {
    return undefined;
  }
  return { address, length };
}

export class RspSession {
  readonly maxPacketSize: number;
  private readonly parser: PacketParser;
  private readonly log: (line: string) => void;
  private readonly removeStopListener: () => void;
  private noAck = false;
  private lastReply: Uint8Array | undefined;
  private queue: Promise<void> = Promise.resolve();
  private running = false;
  private ended = false;
  private detached = false;
  private lastSequence = 0n;
  private lastStop: StopEvent | undefined;
  private stopWaiter: ((stop: StopEvent | undefined) => void) | undefined;
  private interruptError = '';
  /** Continue packets received and not yet finished; a Ctrl-C behind one of them is for it. */
  private queuedContinues = 0;
  private interruptQueued = false;
  private clientSwBreak = false;
  private clientHwBreak = false;
  private clientErrorMessages = false;

  constructor(
    private readonly target: DebugTarget,
    private readonly connection: RspConnection,
    options: RspSessionOptions = {},
  ) {
    this.maxPacketSize = options.maxPacketSize ?? DEFAULT_PACKET_SIZE;
    this.log = options.log ?? (() => undefined);
    this.parser = new PacketParser(
      {
        packet: (payload) => this.onPacket(payload),
        badPacket: (reason) => this.onBadPacket(reason),
        overlong: (length) => this.onOverlong(length),
        interrupt: () => this.onInterrupt(),
        ack: (positive) => this.onAck(positive),
      },
      this.maxPacketSize,
    );
    this.removeStopListener = target.onStop((stop) => this.noteStop(stop));
  }

  /** Bytes from the client. */
  receive(chunk: Uint8Array): void {
    if (!this.ended) this.parser.feed(chunk);
  }

  /** Resolves once every packet received so far has been answered. */
  idle(): Promise<void> {
    return this.queue;
  }

  /**
   * The connection is gone. Unless GDB detached or killed, the target is detached and left running, so
   * a dropped connection never leaves the guest stuck on a breakpoint nobody can see.
   */
  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.removeStopListener();
    this.stopWaiter?.(undefined);
    this.stopWaiter = undefined;
    if (!this.detached) {
      this.detached = true;
      try {
        await this.target.detach(true);
      } catch (err) {
        this.log(`detach after the connection closed failed: ${describe(err)}`);
      }
    }
  }

  // ---- framing --------------------------------------------------------------------------------

  private onPacket(payload: Uint8Array): void {
    if (!this.noAck) this.connection.write(ACK);
    const text = latin1.decode(payload);
    if (!isContinue(text)) {
      this.queue = this.queue.then(() => this.dispatch(text));
      return;
    }
    this.queuedContinues++;
    this.queue = this.queue
      .then(() => this.dispatch(text))
      .then(() => {
        if (--this.queuedContinues === 0) this.interruptQueued = false;
      });
  }

  private onBadPacket(reason: string): void {
    this.log(`bad packet: ${reason}`);
    if (!this.noAck) this.connection.write(NACK);
  }

  private onOverlong(length: number): void {
    this.log(`packet of ${length} bytes exceeds the packet size ${this.maxPacketSize}`);
    if (!this.noAck) this.connection.write(ACK);
    this.queue = this.queue.then(() => this.send(this.error(ERR_MALFORMED, 'packet too long')));
  }

  private onAck(positive: boolean): void {
    if (!positive && !this.noAck && this.lastReply !== undefined) this.connection.write(this.lastReply);
  }

  private onInterrupt(): void {
    if (this.ended) return;
    if (!this.running) {
      // gdb sent the continue and then the interrupt: the continue has not started, so it takes it.
      if (this.queuedContinues > 0) this.interruptQueued = true;
      return;
    }
    this.target.halt().then(
      (stop) => this.noteStop(stop),
      (err: unknown) => {
        // The target cannot be stopped (the monitor is gone): end the continue with an error rather
        // than leave GDB waiting for a stop that will never come.
        this.log(`interrupt failed: ${describe(err)}`);
        const waiter = this.stopWaiter;
        this.stopWaiter = undefined;
        this.interruptError = this.error(ERR_TARGET, `interrupt failed: ${describe(err)}`);
        waiter?.(undefined);
      },
    );
  }

  private send(text: string): void {
    this.sendBytes(bytes(text));
  }

  private sendBytes(payload: Uint8Array): void {
    if (this.ended) return;
    const framed = framePacket(payload);
    this.lastReply = framed;
    this.connection.write(framed);
  }

  /** An error reply: the text when GDB reads error messages, the number otherwise. */
  private error(code: string, message: string): string {
    return this.clientErrorMessages ? `E.${message.replace(/[$#*}]/g, '?')}` : code;
  }

  private targetError(what: string, err: unknown): string {
    const message = `${what}: ${describe(err)}`;
    this.log(message);
    return this.error(ERR_TARGET, message);
  }

  // ---- stops ----------------------------------------------------------------------------------

  /** Records a stop (from a listener, a step or a halt); each sequence number counts once. */
  private noteStop(stop: StopEvent): void {
    if (stop.sequence <= this.lastSequence) return;
    this.lastSequence = stop.sequence;
    this.lastStop = stop;
    const waiter = this.stopWaiter;
    if (waiter !== undefined) {
      this.stopWaiter = undefined;
      waiter(stop);
    }
  }

  private stopReply(stop: StopEvent): string {
    const detail = stop.detail;
    if (stop.reason === StopReason.STOP_REASON_EXITED) {
      const reason = detail?.$case === 'exit' ? detail.value.reason : ExitReason.EXIT_REASON_STOP_REQUEST;
      const clean = reason === ExitReason.EXIT_REASON_STOP_REQUEST || reason === ExitReason.EXIT_REASON_GUEST_SHUTDOWN;
      return clean ? 'W00' : 'X06';
    }
    const signal = stop.signal === 0 ? 5 : stop.signal & 0xff;
    let reply = `T${signal.toString(16).padStart(2, '0')}`;
    if (detail?.$case === 'breakpoint') {
      if (detail.value.kind === BreakpointKind.BREAKPOINT_KIND_SOFTWARE && this.clientSwBreak) reply += 'swbreak:;';
      if (detail.value.kind === BreakpointKind.BREAKPOINT_KIND_HARDWARE && this.clientHwBreak) reply += 'hwbreak:;';
    } else if (detail?.$case === 'watchpoint') {
      const kind = detail.value.kind;
      const name =
        kind === WatchKind.WATCH_KIND_READ ? 'rwatch' : kind === WatchKind.WATCH_KIND_ACCESS ? 'awatch' : 'watch';
      reply += `${name}:${detail.value.address.toString(16)};`;
    }
    return reply + THREAD;
  }

  private async currentStop(): Promise<string> {
    let status: GetDebugStatusResponse;
    try {
      status = await this.target.status();
    } catch (err) {
      return this.targetError('status', err);
    }
    if (status.lastStop !== undefined) this.noteStop(status.lastStop);
    if (!status.halted) {
      try {
        const stop = await this.target.halt();
        this.noteStop(stop);
        return this.stopReply(stop);
      } catch (err) {
        return this.targetError('halt', err);
      }
    }
    return this.lastStop === undefined ? `T05${THREAD}` : this.stopReply(this.lastStop);
  }

  private async resume(step: boolean, addressText: string): Promise<void> {
    if (addressText !== '') {
      const address = parseHexNumber(addressText);
      if (address === undefined || address >= ADDRESS_LIMIT) return this.send(this.error(ERR_MALFORMED, 'bad address'));
      try {
        const regs = await this.target.readRegisters();
        await this.target.writeRegisters({ ...regs, eip: address });
      } catch (err) {
        return this.send(this.targetError('set the resume address', err));
      }
    }
    if (step) {
      try {
        const stop = await this.target.step();
        this.noteStop(stop);
        return this.send(this.stopReply(stop));
      } catch (err) {
        return this.send(this.targetError('step', err));
      }
    }
    const next = new Promise<StopEvent | undefined>((resolve) => (this.stopWaiter = resolve));
    this.running = true;
    try {
      await this.target.resume();
    } catch (err) {
      this.running = false;
      this.stopWaiter = undefined;
      return this.send(this.targetError('continue', err));
    }
    if (this.interruptQueued) {
      this.interruptQueued = false;
      this.onInterrupt();
    }
    const stop = await next;
    this.running = false;
    if (stop !== undefined) this.send(this.stopReply(stop));
    else if (this.interruptError !== '') this.send(this.interruptError);
    this.interruptError = '';
  }

  // ---- packets --------------------------------------------------------------------------------

  private async dispatch(packet: string): Promise<void> {
    if (this.ended) return;
    try {
      const reply = await this.handle(packet);
      if (reply !== undefined) this.send(reply);
    } catch (err) {
      // A handler bug must cost one reply, never the connection.
      this.send(this.targetError(`packet ${packet.slice(0, 16)}`, err));
    }
  }

  /** The reply text, or undefined when the handler replied itself (or nothing is due). */
  private async handle(packet: string): Promise<string | undefined> {
    const rest = packet.slice(1);
    switch (packet[0]) {
      case '?':
        return this.currentStop();
      case 'g':
        return this.readAllRegisters();
      case 'G':
        return this.writeAllRegisters(rest);
      case 'p':
        return this.readOneRegister(rest);
      case 'P':
        return this.writeOneRegister(rest);
      case 'm':
        return this.readMemory(rest);
      case 'M':
        return this.writeMemoryHex(rest);
      case 'X':
        return this.writeMemoryBinary(rest);
      case 'Z':
      case 'z':
        return this.breakpoint(packet[0] === 'Z', rest);
      case 's':
      case 'c':
        await this.resume(packet[0] === 's', rest);
        return undefined;
      case 'S':
      case 'C': {
        // The signal number is dropped: a machine has no pending signals to deliver.
        const semi = rest.indexOf(';');
        await this.resume(packet[0] === 'S', semi < 0 ? '' : rest.slice(semi + 1));
        return undefined;
      }
      case 'v':
        return this.vPacket(packet);
      case 'D':
        return this.detach();
      case 'k':
        await this.kill();
        return undefined;
      case 'H':
      case 'T':
        return 'OK';
      case 'q':
      case 'Q':
        return this.query(packet);
      default:
        return '';
    }
  }

  private async readAllRegisters(): Promise<string> {
    try {
      return toHex(encodeRegisterFile(await this.target.readRegisters()));
    } catch (err) {
      return this.targetError('read registers', err);
    }
  }

  private async writeAllRegisters(hex: string): Promise<string> {
    const data = fromHex(hex);
    if (data === undefined || data.length > REGISTER_FILE_SIZE) return this.error(ERR_MALFORMED, 'bad register data');
    try {
      const regs = applyRegisterFile(await this.target.readRegisters(), data);
      if (regs === undefined) return this.error(ERR_MALFORMED, 'register data ends inside a register');
      await this.target.writeRegisters(regs);
      return 'OK';
    } catch (err) {
      return this.targetError('write registers', err);
    }
  }

  private async readOneRegister(text: string): Promise<string> {
    const regnum = parseHexNumber(text);
    if (regnum === undefined) return this.error(ERR_MALFORMED, 'bad register number');
    try {
      const value = encodeRegister(await this.target.readRegisters(), regnum);
      return value === undefined ? this.error(ERR_MALFORMED, `no register ${regnum}`) : toHex(value);
    } catch (err) {
      return this.targetError('read register', err);
    }
  }

  private async writeOneRegister(text: string): Promise<string> {
    const eq = text.indexOf('=');
    const regnum = eq < 0 ? undefined : parseHexNumber(text.slice(0, eq));
    const data = eq < 0 ? undefined : fromHex(text.slice(eq + 1));
    if (regnum === undefined || data === undefined) return this.error(ERR_MALFORMED, 'bad P packet');
    try {
      const regs = applyRegister(await this.target.readRegisters(), regnum, data);
      if (regs === undefined) return this.error(ERR_MALFORMED, `bad register ${regnum} or value size`);
      await this.target.writeRegisters(regs);
      return 'OK';
    } catch (err) {
      return this.targetError('write register', err);
    }
  }

  private async readMemory(text: string): Promise<string> {
    const range = parseRange(text, Number.MAX_SAFE_INTEGER);
    if (range === undefined) return this.error(ERR_MALFORMED, 'bad m packet');
    // A short read is a valid answer; GDB asks again for the rest.
    const length = Math.min(range.length, MEMORY_CHUNK, (this.maxPacketSize - 4) >> 1);
    if (length === 0) return '';
    try {
      const data = await this.target.readMemory(range.address, length);
      return data.length === 0 ? this.error(ERR_FAULT, 'memory not accessible') : toHex(data);
    } catch (err) {
      return this.targetError('read memory', err);
    }
  }

  private async writeMemory(address: number, data: Uint8Array): Promise<string> {
    try {
      let done = 0;
      while (done < data.length) {
        const chunk = data.subarray(done, Math.min(data.length, done + MEMORY_CHUNK));
        const written = await this.target.writeMemory(address + done, chunk);
        done += written;
        if (written < chunk.length) return this.error(ERR_FAULT, 'memory not writable');
      }
      return 'OK';
    } catch (err) {
      return this.targetError('write memory', err);
    }
  }

  private writeMemoryHex(text: string): Promise<string> | string {
    const colon = text.indexOf(':');
    const range = colon < 0 ? undefined : parseRange(text.slice(0, colon), this.maxPacketSize);
    const data = colon < 0 ? undefined : fromHex(text.slice(colon + 1));
    if (range === undefined || data === undefined || data.length !== range.length) {
      return this.error(ERR_MALFORMED, 'bad M packet');
    }
    return this.writeMemory(range.address, data);
  }

  private writeMemoryBinary(text: string): Promise<string> | string {
    const colon = text.indexOf(':');
    const range = colon < 0 ? undefined : parseRange(text.slice(0, colon), this.maxPacketSize);
    const data = colon < 0 ? undefined : bytes(text.slice(colon + 1));
    if (range === undefined || data === undefined || data.length !== range.length) {
      return this.error(ERR_MALFORMED, 'bad X packet');
    }
    return range.length === 0 ? 'OK' : this.writeMemory(range.address, data);
  }

  private async breakpoint(insert: boolean, text: string): Promise<string> {
    // Conditions and commands after ';' are not supported (not announced in qSupported).
    const fields = text.split(';')[0].split(',');
    if (fields.length !== 3) return this.error(ERR_MALFORMED, 'bad Z packet');
    const type = parseHexNumber(fields[0]);
    const address = parseHexNumber(fields[1]);
    const kind = parseHexNumber(fields[2]);
    if (type === undefined || address === undefined || kind === undefined || address >= ADDRESS_LIMIT) {
      return this.error(ERR_MALFORMED, 'bad Z packet');
    }
    const t = this.target;
    try {
      switch (type) {
        case 0:
        case 1: {
          const k = type === 0 ? BreakpointKind.BREAKPOINT_KIND_SOFTWARE : BreakpointKind.BREAKPOINT_KIND_HARDWARE;
          await (insert ? t.insertBreakpoint(k, address) : t.removeBreakpoint(k, address));
          return 'OK';
        }
        case 2:
        case 3:
        case 4: {
          if (kind < 1 || kind > 4096) return this.error(ERR_MALFORMED, 'watch length must be 1 to 4096');
          const k =
            type === 2
              ? WatchKind.WATCH_KIND_WRITE
              : type === 3
                ? WatchKind.WATCH_KIND_READ
                : WatchKind.WATCH_KIND_ACCESS;
          await (insert ? t.insertWatchpoint(k, address, kind) : t.removeWatchpoint(k, address, kind));
          return 'OK';
        }
        default:
          return '';
      }
    } catch (err) {
      // An empty reply tells GDB this kind is not supported, so it falls back or says so.
      if (err instanceof TargetUnsupportedError) return '';
      return this.targetError(insert ? 'insert breakpoint' : 'remove breakpoint', err);
    }
  }

  private async vPacket(packet: string): Promise<string | undefined> {
    if (packet === 'vCont?') return 'vCont;c;C;s;S';
    if (packet.startsWith('vCont;')) {
      // One thread: the first action applies to it.
      const action = packet.slice(6).split(';')[0].split(':')[0];
      const op = action[0];
      if (op === 'c' || op === 'C' || op === 's' || op === 'S') {
        await this.resume(op === 's' || op === 'S', '');
        return undefined;
      }
      return this.error(ERR_MALFORMED, `unsupported vCont action ${action}`);
    }
    if (packet.startsWith('vKill')) return this.killWithReply();
    return '';
  }

  private async detach(): Promise<string> {
    try {
      await this.target.detach(true);
      this.detached = true;
      return 'OK';
    } catch (err) {
      return this.targetError('detach', err);
    }
  }

  /** vKill: unlike k it is answered (gdb tries it first and waits), and gdb closes the connection. */
  private async killWithReply(): Promise<string> {
    try {
      await this.target.kill();
      this.detached = true;
      return 'OK';
    } catch (err) {
      return this.targetError('kill', err);
    }
  }

  private async kill(): Promise<void> {
    try {
      await this.target.kill();
      this.detached = true;
    } catch (err) {
      this.log(`kill failed: ${describe(err)}`);
    }
    // No reply is due; GDB drops the connection.
    this.connection.close();
  }

  private async query(packet: string): Promise<string | undefined> {
    const colon = packet.indexOf(':');
    const name = colon < 0 ? packet : packet.slice(0, colon);
    const args = colon < 0 ? '' : packet.slice(colon + 1);
    switch (name) {
      case 'qSupported':
        return this.supported(args);
      case 'QStartNoAckMode':
        // This OK still travels in acknowledged mode.
        this.send('OK');
        this.noAck = true;
        return undefined;
      case 'qXfer':
        return this.transfer(args);
      case 'qAttached':
        return '1';
      case 'qC':
        return 'QC1';
      case 'qfThreadInfo':
        return 'm1';
      case 'qsThreadInfo':
        return 'l';
      case 'qSymbol':
        return 'OK';
      default:
        if (packet.startsWith('qRcmd,')) return this.monitorCommand(packet.slice(6));
        return '';
    }
  }

  private supported(args: string): string {
    for (const feature of args.split(';')) {
      if (feature === 'swbreak+') this.clientSwBreak = true;
      else if (feature === 'hwbreak+') this.clientHwBreak = true;
      else if (feature === 'error-message+') this.clientErrorMessages = true;
    }
    return [
      `PacketSize=${this.maxPacketSize.toString(16)}`,
      'QStartNoAckMode+',
      'qXfer:features:read+',
      'swbreak+',
      'hwbreak+',
      'vContSupported+',
      ...(this.clientErrorMessages ? ['error-message+'] : []),
    ].join(';');
  }

  private transfer(args: string): string | undefined {
    // features:read:ANNEX:OFFSET,LENGTH
    const parts = args.split(':');
    if (parts.length !== 4 || parts[0] !== 'features' || parts[1] !== 'read') return '';
    if (parts[2] !== 'target.xml') return this.error('E00', `no feature document ${parts[2]}`);
    const range = parseRange(parts[3], Number.MAX_SAFE_INTEGER);
    if (range === undefined) return this.error(ERR_MALFORMED, 'bad qXfer range');
    const document = TARGET_XML;
    const end = Math.min(document.length, range.address + range.length, range.address + this.maxPacketSize - 8);
    const chunk = range.address >= document.length ? new Uint8Array(0) : document.subarray(range.address, end);
    const prefix = end < document.length ? 'm' : 'l';
    const escaped = escapeBinary(chunk);
    const payload = new Uint8Array(escaped.length + 1);
    payload[0] = prefix.charCodeAt(0);
    payload.set(escaped, 1);
    this.sendBytes(payload);
    return undefined;
  }

  private async monitorCommand(hex: string): Promise<string> {
    const raw = fromHex(hex);
    if (raw === undefined) return this.error(ERR_MALFORMED, 'bad qRcmd packet');
    const result = await runMonitorCommand(this.target, latin1.decode(raw));
    // Console output goes in O packets ahead of the final reply; each fits the client's buffer.
    const text = bytes(result.output);
    const chunk = (this.maxPacketSize - 8) >> 1;
    for (let i = 0; i < text.length; i += chunk) this.send(`O${toHex(text.subarray(i, i + chunk))}`);
    return result.ok
      ? 'OK'
      : this.error(ERR_MALFORMED, result.output.trim().split('\n')[0] ?? 'monitor command failed');
  }
}

/** c, C and vCont continues: the packets a Ctrl-C can interrupt. */
function isContinue(packet: string): boolean {
  const op = packet[0];
  return op === 'c' || op === 'C' || (packet.startsWith('vCont;') && (packet[6] === 'c' || packet[6] === 'C'));
}

const ACK = new Uint8Array([Ch.PLUS]);
const NACK = new Uint8Array([Ch.MINUS]);
const TARGET_XML = new TextEncoder().encode(targetDescription());

/**
 * Answers a client that may not attach: its first packet is acknowledged and answered with an error
 * saying why, then the connection is closed.
 */
export function refuseClient(connection: RspConnection, reason: string): (chunk: Uint8Array) => void {
  let done = false;
  const parser = new PacketParser(
    {
      packet: () => {
        if (done) return;
        done = true;
        connection.write(ACK);
        connection.write(framePacket(bytes(`E.${reason}`)));
        connection.close();
      },
      badPacket: () => connection.write(NACK),
      overlong: () => undefined,
      interrupt: () => undefined,
      ack: () => undefined,
    },
    DEFAULT_PACKET_SIZE,
  );
  return (chunk) => {
    if (!done) parser.feed(chunk);
  };
}
