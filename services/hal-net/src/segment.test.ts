import { BusError } from '@plex86/bus';
import { ErrorCode } from '@plex86/proto';
import { describe, expect, it } from 'vitest';
import { frameLengthProblem, segmentOfSubject } from './frames.js';
import { deriveMac, formatMac, isGroupMac, parseMac } from './mac.js';
import { Segment } from './segment.js';

const SUBJECT = 'plex86.net.lan.attach-nic';

function codeOf(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BusError);
    return (e as BusError).code;
  }
  throw new Error('expected a BusError');
}

function attach(segment: Segment, vmId: string, nicId: string, mac: string) {
  return segment.attach({ requestId: '', segment: 'lan', vmId, nicId, mac }, SUBJECT);
}

describe('MAC addresses', () => {
  it('parse and format as six colon-separated hex bytes', () => {
    expect([...parseMac('52:54:00:AB:cd:0f')]).toEqual([0x52, 0x54, 0, 0xab, 0xcd, 0x0f]);
    expect(formatMac(parseMac('52:54:00:AB:cd:0f'))).toBe('52:54:00:ab:cd:0f');
    for (const bad of ['', '52:54:00:ab:cd', '52:54:00:ab:cd:0f:11', '52-54-00-ab-cd-0f', '52:54:00:ab:cd:0g']) {
      expect(() => parseMac(bad), bad).toThrow(/invalid MAC address/);
    }
  });

  it('tell group addresses by the first bit on the wire', () => {
    expect(isGroupMac(parseMac('ff:ff:ff:ff:ff:ff'))).toBe(true);
    expect(isGroupMac(parseMac('01:00:5e:00:00:01'))).toBe(true);
    expect(isGroupMac(parseMac('52:54:00:00:00:01'))).toBe(false);
  });

  it('derives stable, distinct, locally administered unicast addresses', () => {
    const a = deriveMac('vm1', 'net0');
    expect(deriveMac('vm1', 'net0')).toBe(a);
    expect(deriveMac('vm2', 'net0')).not.toBe(a);
    const bytes = parseMac(a);
    expect((bytes[0] ?? 0) & 0x03).toBe(0x02);
  });
});

describe('frame lengths and subjects', () => {
  it('accepts 14..1522 bytes only', () => {
    expect(frameLengthProblem(13)).toMatch(/shorter/);
    expect(frameLengthProblem(14)).toBeNull();
    expect(frameLengthProblem(1522)).toBeNull();
    expect(frameLengthProblem(1523)).toMatch(/longer/);
  });

  it('finds the segment of a segment subject only', () => {
    expect(segmentOfSubject('plex86.net.lan.frames')).toBe('lan');
    expect(segmentOfSubject('plex86.vm1.console.0.out')).toBe('');
    expect(segmentOfSubject('plex86.vm1.net.frames')).toBe('');
  });
});

describe('Segment membership', () => {
  it('attaches interfaces, counts members and reports the Ethernet MTU', () => {
    const s = new Segment('lan');
    expect(attach(s, 'vm1', 'net0', '52:54:00:00:00:01')).toEqual({ mtu: 1500, memberCount: 1 });
    expect(attach(s, 'vm2', 'net0', '52:54:00:00:00:02')).toEqual({ mtu: 1500, memberCount: 2 });
    expect(s.list().map((m) => `${m.vm}/${m.nic}=${m.mac}`)).toEqual([
      'vm1/net0=52:54:00:00:00:01',
      'vm2/net0=52:54:00:00:00:02',
    ]);
  });

  it('re-attaching the same interface with the same MAC changes nothing', () => {
    const s = new Segment('lan');
    attach(s, 'vm1', 'net0', '52:54:00:00:00:01');
    expect(attach(s, 'vm1', 'net0', '52:54:00:00:00:01').memberCount).toBe(1);
    expect(s.size).toBe(1);
  });

  it('refuses a MAC address another interface holds, in any spelling', () => {
    const s = new Segment('lan');
    attach(s, 'vm1', 'net0', '52:54:00:00:00:0a');
    expect(codeOf(() => attach(s, 'vm2', 'net0', '52:54:00:00:00:0A'))).toBe(ErrorCode.ERROR_CODE_FAILED_PRECONDITION);
    expect(codeOf(() => attach(s, 'vm1', 'net0', '52:54:00:00:00:0b'))).toBe(ErrorCode.ERROR_CODE_FAILED_PRECONDITION);
    expect(s.size).toBe(1);
  });

  it('refuses malformed requests', () => {
    const s = new Segment('lan');
    expect(codeOf(() => attach(s, 'vm1', 'net0', 'not-a-mac'))).toBe(ErrorCode.ERROR_CODE_BAD_REQUEST);
    expect(codeOf(() => attach(s, 'vm1', 'net0', 'ff:ff:ff:ff:ff:ff'))).toBe(ErrorCode.ERROR_CODE_BAD_REQUEST);
    expect(codeOf(() => attach(s, 'vm1', 'net0', '00:00:00:00:00:00'))).toBe(ErrorCode.ERROR_CODE_BAD_REQUEST);
    expect(codeOf(() => attach(s, 'vm.1', 'net0', '52:54:00:00:00:01'))).toBe(ErrorCode.ERROR_CODE_BAD_REQUEST);
    expect(codeOf(() => attach(s, 'vm1', '', '52:54:00:00:00:01'))).toBe(ErrorCode.ERROR_CODE_BAD_REQUEST);
    expect(s.size).toBe(0);
  });

  it('detaches attached interfaces only, freeing their MAC', () => {
    const s = new Segment('lan');
    attach(s, 'vm1', 'net0', '52:54:00:00:00:01');
    attach(s, 'vm2', 'net0', '52:54:00:00:00:02');
    const detach = (vmId: string, nicId: string) =>
      s.detach({ requestId: '', segment: 'lan', vmId, nicId }, 'plex86.net.lan.detach-nic');
    expect(detach('vm1', 'net0')).toEqual({ memberCount: 1 });
    expect(codeOf(() => detach('vm1', 'net0'))).toBe(ErrorCode.ERROR_CODE_NOT_FOUND);
    expect(attach(s, 'vm3', 'net0', '52:54:00:00:00:01').memberCount).toBe(2);
  });
});
