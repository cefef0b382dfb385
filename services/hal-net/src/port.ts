import { randomUUID } from 'node:crypto';
import {
  methodClient,
  protoTypeName,
  stderrLogger,
  type Bus,
  type BusLogger,
  type BusMessage,
  type BusSubscription,
  RateLimitedLog,
} from '@plex86/bus';
import { EthernetFrame, NetSegmentServiceDefinition } from '@plex86/proto';
import { frameLengthProblem, framesSubject, segmentPrefix } from './frames.js';
import { isGroupMac, macAt, parseMac } from './mac.js';

const FRAME_TYPE = protoTypeName(EthernetFrame);
/** A sequence number this far below the last one means the sender started again, not reordering. */
const RESTART_DISTANCE = 1024;

/** Counters of one interface on a segment. */
export interface PortStats {
  /** Frames published. */
  sent: number;
  /** Frames refused by send() (length outside 14..1522, or the port is detached). */
  sendRejected: number;
  /** Frames from other interfaces handed to onFrame. */
  delivered: number;
  /** Unicast frames for another MAC address, dropped. */
  filtered: number;
  /** Our own frames coming back, dropped. */
  own: number;
  /** Frames that did not decode or whose length is outside 14..1522, dropped with a log line. */
  malformed: number;
  /** Frames other interfaces sent that never arrived, from gaps in their sequence numbers. */
  lost: number;
  /** Frames whose sequence number was not above the last one seen from their sender (dropped). */
  outOfOrder: number;
}

export interface SegmentPortOptions {
  readonly segment: string;
  readonly vm: string;
  readonly nic: string;
  /** Six colon-separated hex bytes. */
  readonly mac: string;
  /** Receives every frame for this interface (broadcast, multicast and its own MAC). */
  readonly onFrame?: (frame: Uint8Array) => void;
  /** Also deliver unicast frames addressed to other interfaces. */
  readonly promiscuous?: boolean;
  readonly logger?: BusLogger;
  readonly timeoutMs?: number;
}

/** Last sequence number seen from one sending interface. */
class Sender {
  constructor(public last: number) {}
}

/**
 * One interface on a virtual Ethernet segment, for the front-end that owns it (virtio-net in the
 * monitor): attaches through NetSegmentService, publishes frames on `plex86.net.<segment>.frames`
 * and receives the others', dropping its own and unicast frames for other addresses, as a port on a
 * hub would. A frame that does not decode or has a bad length is dropped with a (rate-limited) log
 * line; losses are counted from each sender's sequence numbers.
 */
export class SegmentPort {
  readonly stats: PortStats = {
    sent: 0,
    sendRejected: 0,
    delivered: 0,
    filtered: 0,
    own: 0,
    malformed: 0,
    lost: 0,
    outOfOrder: 0,
  };
  /** Receives frames for this interface; may be set after attaching. */
  onFrame: ((frame: Uint8Array) => void) | null;
  /** MTU and member count from AttachNic. */
  mtu = 0;
  memberCount = 0;

  private readonly macBytes: Uint8Array;
  private readonly subject: string;
  private readonly senders = new Map<string, Sender>();
  private readonly badFrames: RateLimitedLog;
  private readonly logger: BusLogger;
  private readonly client;
  private subscription: BusSubscription | null = null;
  private sequence = 0;
  private attached = false;

  private constructor(
    private readonly bus: Bus,
    readonly options: SegmentPortOptions,
  ) {
    this.macBytes = parseMac(options.mac);
    this.subject = framesSubject(options.segment);
    this.onFrame = options.onFrame ?? null;
    this.logger = options.logger ?? stderrLogger;
    this.badFrames = new RateLimitedLog((line) => this.logger.warn(line));
    this.client = methodClient(bus, segmentPrefix(options.segment), NetSegmentServiceDefinition);
  }

  /** Subscribes to the segment's frames and attaches the interface; rejects with the service's BusError. */
  static async attach(bus: Bus, options: SegmentPortOptions): Promise<SegmentPort> {
    const port = new SegmentPort(bus, options);
    port.subscription = bus.subscribe(port.subject, port.receive);
    try {
      const reply = await port.client.attachNic(
        {
          requestId: randomUUID(),
          segment: options.segment,
          vmId: options.vm,
          nicId: options.nic,
          mac: options.mac,
        },
        { timeoutMs: options.timeoutMs },
      );
      port.mtu = reply.mtu;
      port.memberCount = reply.memberCount;
    } catch (e) {
      port.subscription.unsubscribe();
      throw e;
    }
    port.attached = true;
    return port;
  }

  get mac(): Uint8Array {
    return this.macBytes;
  }

  /** Publishes one frame (destination MAC to the end of the payload); false when it was refused. */
  send(frame: Uint8Array): boolean {
    if (!this.attached || frameLengthProblem(frame.length) !== null) {
      this.stats.sendRejected++;
      return false;
    }
    const data = EthernetFrame.encode({
      frame,
      sourceVm: this.options.vm,
      sourceNic: this.options.nic,
      sequence: BigInt(++this.sequence),
    }).finish();
    this.bus.publish(this.subject, data, { type: FRAME_TYPE });
    this.stats.sent++;
    return true;
  }

  /** Stops receiving and detaches the interface from the segment. */
  async detach(): Promise<void> {
    if (!this.attached) return;
    this.attached = false;
    this.subscription?.unsubscribe();
    this.subscription = null;
    await this.client.detachNic(
      { requestId: randomUUID(), segment: this.options.segment, vmId: this.options.vm, nicId: this.options.nic },
      { timeoutMs: this.options.timeoutMs },
    );
  }

  private readonly receive = (message: BusMessage): void => {
    const stats = this.stats;
    let decoded: EthernetFrame;
    try {
      decoded = EthernetFrame.decode(message.data);
    } catch (e) {
      stats.malformed++;
      this.badFrames.line(
        `${this.options.vm}/${this.options.nic}: dropped an undecodable frame on ${this.subject}: ${(e as Error).message}`,
      );
      return;
    }
    const frame = decoded.frame;
    const problem = frameLengthProblem(frame.length);
    if (problem !== null) {
      stats.malformed++;
      this.badFrames.line(
        `${this.options.vm}/${this.options.nic}: dropped a frame from ${decoded.sourceVm}/${decoded.sourceNic}: ${problem}`,
      );
      return;
    }
    if (decoded.sourceVm === this.options.vm && decoded.sourceNic === this.options.nic) {
      stats.own++;
      return;
    }
    if (!this.inSequence(decoded)) return;
    if (!this.options.promiscuous && !isGroupMac(frame) && !macAt(frame, 0, this.macBytes)) {
      stats.filtered++;
      return;
    }
    stats.delivered++;
    this.onFrame?.(frame);
  };

  private inSequence(frame: EthernetFrame): boolean {
    const sequence = Number(frame.sequence);
    const key = `${frame.sourceVm}/${frame.sourceNic}`;
    const sender = this.senders.get(key);
    if (sender === undefined) {
      // Frames before the first one seen were sent before we listened; they are not losses.
      this.senders.set(key, new Sender(sequence));
      return true;
    }
    if (sequence === 1 || sequence + RESTART_DISTANCE < sender.last) {
      // The sender's interface started again (and its first frames may be lost).
      sender.last = sequence;
      return true;
    }
    if (sequence <= sender.last) {
      this.stats.outOfOrder++;
      return false;
    }
    this.stats.lost += sequence - sender.last - 1;
    sender.last = sequence;
    return true;
  }
}
