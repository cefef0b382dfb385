import {
  BusError,
  SUBJECT_ROOT,
  serveMethods,
  stderrLogger,
  type Bus,
  type BusLogger,
  type BusMessage,
  type BusService,
  type BusSubscription,
  RateLimitedLog,
} from '@plex86/bus';
import { EthernetFrame, ErrorCode, NetSegmentServiceDefinition } from '@plex86/proto';
import { NET_AREA, frameLengthProblem, segmentOfSubject, segmentPrefix } from './frames.js';
import { Segment, type SegmentMember } from './segment.js';

export const NET_SERVICE_NAME = 'plex-hal-net';
export const NET_VERSION = '0.1.0';
/** Results remembered per segment so a retried request (same id) gets the same answer. */
const REMEMBERED_REQUESTS = 1024;
/** Segments tracked before empty ones are forgotten (with their counters and remembered requests). */
const MAX_SEGMENTS = 1024;

/** What the service saw on a segment's frames subject. */
export interface SegmentTraffic {
  frames: number;
  bytes: number;
  /** Frames that did not decode or whose length is outside 14..1522; dropped with a log line. */
  malformed: number;
  /** Well-formed frames from an interface that is not attached. */
  fromStrangers: number;
}

export interface NetServiceOptions {
  /** Serve only this segment; absent: every segment (`plex86.net.*`). */
  readonly segment?: string;
  readonly logger?: BusLogger;
}

export interface NetServiceHandle {
  /** `plex86.net.<segment>` or `plex86.net.*`. */
  readonly subjectPrefix: string;
  members(segment: string): SegmentMember[];
  traffic(segment: string): SegmentTraffic;
  stop(): Promise<void>;
}

type Outcome = { readonly ok: unknown } | { readonly error: BusError };

class SegmentState {
  readonly segment: Segment;
  readonly traffic: SegmentTraffic = { frames: 0, bytes: 0, malformed: 0, fromStrangers: 0 };
  private readonly remembered = new Map<string, Outcome>();

  constructor(name: string) {
    this.segment = new Segment(name);
  }

  /** Runs `fn` once per request id; a repeated id gets the first outcome again. */
  once<T>(method: string, requestId: string, fn: () => T): T {
    if (requestId === '') return fn();
    const key = `${method}/${requestId}`;
    const seen = this.remembered.get(key);
    if (seen !== undefined) {
      if ('error' in seen) throw seen.error;
      return seen.ok as T;
    }
    let outcome: Outcome;
    try {
      outcome = { ok: fn() };
    } catch (e) {
      if (!(e instanceof BusError)) throw e;
      outcome = { error: e };
    }
    if (this.remembered.size >= REMEMBERED_REQUESTS) {
      const oldest = this.remembered.keys().next().value as string;
      this.remembered.delete(oldest);
    }
    this.remembered.set(key, outcome);
    if ('error' in outcome) throw outcome.error;
    return outcome.ok as T;
  }
}

/**
 * Serves NetSegmentService (membership of virtual Ethernet segments) on `plex86.net.<segment>.*`
 * and watches each segment's frames: interfaces publish on `plex86.net.<segment>.frames` and every
 * member receives every frame (the segment is a hub; see SegmentPort), so the service carries no
 * frames itself but counts them and reports malformed ones and frames from unattached interfaces.
 */
export async function startNetService(bus: Bus, options: NetServiceOptions = {}): Promise<NetServiceHandle> {
  const logger = options.logger ?? stderrLogger;
  const only = options.segment;
  const prefix = only === undefined ? `${SUBJECT_ROOT}.${NET_AREA}.*` : segmentPrefix(only);
  const segments = new Map<string, SegmentState>();
  const badFrames = new RateLimitedLog((line) => logger.warn(line));
  const strangers = new RateLimitedLog((line) => logger.warn(line));

  const forgetAnEmptySegment = (): void => {
    for (const [name, state] of segments) {
      if (state.segment.size === 0) {
        segments.delete(name);
        return;
      }
    }
  };

  const stateOf = (name: string): SegmentState => {
    let state = segments.get(name);
    if (state === undefined) {
      if (segments.size >= MAX_SEGMENTS) forgetAnEmptySegment();
      state = new SegmentState(name);
      segments.set(name, state);
    }
    return state;
  };

  /** The segment a request addresses: the subject's, which the request must not contradict. */
  const requestSegment = (segment: string, subject: string, requestId: string): SegmentState => {
    const fromSubject = segmentOfSubject(subject);
    if (fromSubject === '') {
      throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, subject, `${subject} is not a segment subject`);
    }
    if (segment !== '' && segment !== fromSubject) {
      throw new BusError(
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        subject,
        `request names segment ${JSON.stringify(segment)} but was sent to segment ${fromSubject}`,
        { requestId },
      );
    }
    return stateOf(fromSubject);
  };

  const service: BusService = await serveMethods(
    bus,
    {
      name: NET_SERVICE_NAME,
      version: NET_VERSION,
      description: only === undefined ? 'virtual Ethernet segments' : `virtual Ethernet segment ${only}`,
      metadata: { segment: only ?? '*' },
      // Membership lives in this instance: every request must reach it.
      queue: '',
    },
    prefix,
    NetSegmentServiceDefinition,
    {
      attachNic: (request, { subject }) => {
        const state = requestSegment(request.segment, subject, request.requestId);
        return state.once('attach', request.requestId, () => state.segment.attach(request, subject));
      },
      detachNic: (request, { subject }) => {
        const state = requestSegment(request.segment, subject, request.requestId);
        return state.once('detach', request.requestId, () => {
          return state.segment.detach(request, subject);
        });
      },
    },
    { logger },
  );

  const watch = (message: BusMessage): void => {
    const name = segmentOfSubject(message.subject);
    if (name === '') return;
    const state = stateOf(name);
    const traffic = state.traffic;
    let frame: EthernetFrame;
    try {
      frame = EthernetFrame.decode(message.data);
    } catch (e) {
      traffic.malformed++;
      badFrames.line(
        `segment ${name}: dropped an undecodable frame (${message.data.length} bytes): ${(e as Error).message}`,
      );
      return;
    }
    const problem = frameLengthProblem(frame.frame.length);
    if (problem !== null) {
      traffic.malformed++;
      badFrames.line(`segment ${name}: dropped a frame from ${frame.sourceVm}/${frame.sourceNic}: ${problem}`);
      return;
    }
    traffic.frames++;
    traffic.bytes += frame.frame.length;
    if (!state.segment.has(frame.sourceVm, frame.sourceNic)) {
      traffic.fromStrangers++;
      strangers.line(`segment ${name}: frame from ${frame.sourceVm}/${frame.sourceNic}, which is not attached`);
    }
  };
  let subscription: BusSubscription;
  try {
    subscription = bus.subscribe(`${prefix}.frames`, watch);
  } catch (e) {
    await service.stop();
    throw e;
  }

  let stopped = false;
  return {
    subjectPrefix: prefix,
    members: (segment) => segments.get(segment)?.segment.list() ?? [],
    traffic: (segment) => ({
      ...(segments.get(segment)?.traffic ?? { frames: 0, bytes: 0, malformed: 0, fromStrangers: 0 }),
    }),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      subscription.unsubscribe();
      await service.stop();
    },
  };
}
