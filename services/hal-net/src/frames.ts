import { SUBJECT_ROOT, validateToken } from '@plex86/bus';

/** Largest payload of a plain Ethernet frame, what AttachNic reports as the segment's MTU. */
export const ETHERNET_MTU = 1500;
/** Destination MAC, source MAC and EtherType: the shortest frame a segment carries. */
export const MIN_FRAME_BYTES = 14;
/** A frame without preamble and FCS, with room for one 802.1Q tag. */
export const MAX_FRAME_BYTES = 1522;

/** The subject area of every segment: `plex86.net.<segment>.<name>`. */
export const NET_AREA = 'net';

/** `plex86.net.<segment>`, the prefix of a segment's methods and frames. */
export function segmentPrefix(segment: string): string {
  return `${SUBJECT_ROOT}.${NET_AREA}.${validateToken(segment, 'segment name')}`;
}

/** `plex86.net.<segment>.frames`, where every interface of the segment publishes its frames. */
export function framesSubject(segment: string): string {
  return `${segmentPrefix(segment)}.frames`;
}

/** The segment token of a `plex86.net.<segment>.<name>` subject, '' when it is not one. */
export function segmentOfSubject(subject: string): string {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== SUBJECT_ROOT || parts[1] !== NET_AREA) return '';
  return parts[2] as string;
}

/** Why a frame of this length cannot travel on a segment, null when it can. */
export function frameLengthProblem(length: number): string | null {
  if (length < MIN_FRAME_BYTES) return `${length} bytes is shorter than an Ethernet header (${MIN_FRAME_BYTES})`;
  if (length > MAX_FRAME_BYTES) return `${length} bytes is longer than the largest frame (${MAX_FRAME_BYTES})`;
  return null;
}
