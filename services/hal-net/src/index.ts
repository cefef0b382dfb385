export { parseMac, formatMac, isGroupMac, macAt, deriveMac, MAC_LENGTH } from './mac.js';
export {
  ETHERNET_MTU,
  MIN_FRAME_BYTES,
  MAX_FRAME_BYTES,
  NET_AREA,
  segmentPrefix,
  framesSubject,
  segmentOfSubject,
  frameLengthProblem,
} from './frames.js';
export { Segment, MAX_SEGMENT_MEMBERS, type SegmentMember } from './segment.js';
export {
  startNetService,
  NET_SERVICE_NAME,
  NET_VERSION,
  type NetServiceOptions,
  type NetServiceHandle,
  type SegmentTraffic,
} from './service.js';
export { SegmentPort, type SegmentPortOptions, type PortStats } from './port.js';
export { main as netServiceMain, HELP as NET_SERVICE_HELP } from './main.js';
