import { BusError, validateToken } from '@plex86/bus';
import {
  ErrorCode,
  type AttachNicRequest,
  type AttachNicResponse,
  type DetachNicRequest,
  type DetachNicResponse,
} from '@plex86/proto';
import { ETHERNET_MTU } from './frames.js';
import { formatMac, isGroupMac, parseMac } from './mac.js';

/** Interfaces one segment takes; a bound on what requests can make the service hold. */
export const MAX_SEGMENT_MEMBERS = 4096;

/** One interface attached to a segment. */
export interface SegmentMember {
  readonly vm: string;
  readonly nic: string;
  /** Lower-case colon-separated hex. */
  readonly mac: string;
}

function memberKey(vm: string, nic: string): string {
  return `${vm}/${nic}`;
}

/**
 * The members of one segment and the rules of NetSegmentService (proto/plex86/v1/net.proto): a MAC
 * address is attached at most once, re-attaching the same interface with the same address changes
 * nothing, detaching needs an attached interface. Failures are BusErrors carrying the wire code.
 */
export class Segment {
  private readonly members = new Map<string, SegmentMember>();
  private readonly byMac = new Map<string, SegmentMember>();

  constructor(readonly name: string) {}

  get size(): number {
    return this.members.size;
  }

  list(): SegmentMember[] {
    return [...this.members.values()];
  }

  has(vm: string, nic: string): boolean {
    return this.members.has(memberKey(vm, nic));
  }

  attach(request: AttachNicRequest, subject: string): AttachNicResponse {
    const vm = checkedToken(request.vmId, 'vm_id', subject);
    const nic = checkedToken(request.nicId, 'nic_id', subject);
    let bytes: Uint8Array;
    try {
      bytes = parseMac(request.mac);
    } catch (e) {
      throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, subject, (e as Error).message, {
        requestId: request.requestId,
      });
    }
    if (isGroupMac(bytes) || bytes.every((b) => b === 0)) {
      throw new BusError(
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        subject,
        `MAC address ${request.mac} cannot belong to an interface: it is a group (multicast) or all-zero address`,
        { requestId: request.requestId },
      );
    }
    const mac = formatMac(bytes);
    const key = memberKey(vm, nic);
    const existing = this.members.get(key);
    if (existing !== undefined) {
      if (existing.mac === mac) return this.response();
      throw new BusError(
        ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
        subject,
        `interface ${key} is already attached to segment ${this.name} with MAC ${existing.mac}; detach it first`,
        { requestId: request.requestId },
      );
    }
    const holder = this.byMac.get(mac);
    if (holder !== undefined) {
      throw new BusError(
        ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
        subject,
        `MAC ${mac} is already attached to segment ${this.name} by ${memberKey(holder.vm, holder.nic)}`,
        { requestId: request.requestId },
      );
    }
    if (this.members.size >= MAX_SEGMENT_MEMBERS) {
      throw new BusError(
        ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
        subject,
        `segment ${this.name} is full (${MAX_SEGMENT_MEMBERS} interfaces)`,
        { requestId: request.requestId },
      );
    }
    const member: SegmentMember = { vm, nic, mac };
    this.members.set(key, member);
    this.byMac.set(mac, member);
    return this.response();
  }

  detach(request: DetachNicRequest, subject: string): DetachNicResponse {
    const key = memberKey(request.vmId, request.nicId);
    const member = this.members.get(key);
    if (member === undefined) {
      throw new BusError(
        ErrorCode.ERROR_CODE_NOT_FOUND,
        subject,
        `interface ${key} is not attached to segment ${this.name}`,
        { requestId: request.requestId },
      );
    }
    this.members.delete(key);
    this.byMac.delete(member.mac);
    return { memberCount: this.members.size };
  }

  private response(): AttachNicResponse {
    return { mtu: ETHERNET_MTU, memberCount: this.members.size };
  }
}

function checkedToken(value: string, field: string, subject: string): string {
  try {
    return validateToken(value, field);
  } catch (e) {
    throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, subject, (e as Error).message);
  }
}
