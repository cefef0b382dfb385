import { describe, expect, it } from 'vitest';
import {
  escapeBinary,
  framePacket,
  fromHex,
  PacketParser,
  parseHexNumber,
  toHex,
  type PacketEvents,
} from './packet.js';

type Event = [string, string | number | boolean];

function collect(maxPayload = 64): { parser: PacketParser; events: Event[] } {
  const events: Event[] = [];
  const sink: PacketEvents = {
    packet: (p) => events.push(['packet', Buffer.from(p).toString('latin1')]),
    badPacket: (r) => events.push(['bad', r]),
    overlong: (n) => events.push(['overlong', n]),
    interrupt: () => events.push(['interrupt', true]),
    ack: (a) => events.push(['ack', a]),
  };
  return { parser: new PacketParser(sink, maxPayload), events };
}

const feed = (parser: PacketParser, text: string) => parser.feed(Buffer.from(text, 'latin1'));

describe('PacketParser', () => {
  it('accepts a packet with a correct checksum, in either hex case', () => {
    const { parser, events } = collect();
    feed(parser, '$g#67$qC#B4');
    expect(events).toEqual([
      ['packet', 'g'],
      ['packet', 'qC'],
    ]);
  });

  it('reports checksum mismatches and non-hex checksums', () => {
    const { parser, events } = collect();
    feed(parser, '$g#68$g#zz$g#67');
    expect(events[0][0]).toBe('bad');
    expect(events[0][1]).toContain('got 68, computed 67');
    expect(events[1]).toEqual(['bad', 'checksum is not two hex digits']);
    expect(events[2]).toEqual(['packet', 'g']);
  });

  it('handles packets split across chunks at every byte', () => {
    const text = '$m1000,4#8e';
    for (let cut = 1; cut < text.length; cut++) {
      const { parser, events } = collect();
      feed(parser, text.slice(0, cut));
      expect(events).toEqual([]);
      feed(parser, text.slice(cut));
      expect(events).toEqual([['packet', 'm1000,4']]);
    }
  });

  it('sees acknowledgements and Ctrl-C between packets and ignores noise', () => {
    const { parser, events } = collect();
    feed(parser, '+x-\x03\n$?#3f');
    expect(events).toEqual([
      ['ack', true],
      ['ack', false],
      ['interrupt', true],
      ['packet', '?'],
    ]);
  });

  it('takes 0x03 inside a packet as data, not an interrupt', () => {
    const { parser, events } = collect();
    const payload = 'X0,1:\x03';
    feed(parser, Buffer.from(framePacket(Buffer.from(payload, 'latin1'))).toString('latin1'));
    expect(events).toEqual([['packet', payload]]);
  });

  it('unescapes } sequences, with the checksum over the escaped bytes', () => {
    const { parser, events } = collect();
    const raw = Buffer.from(escapeBinary(Buffer.from('X0,4:$#}*', 'latin1')));
    expect(raw.toString('latin1')).toBe('X0,4:}\x04}\x03}]}\x0a');
    parser.feed(framePacket(raw));
    expect(events).toEqual([['packet', 'X0,4:$#}*']]);
  });

  it('expands run-length encoding', () => {
    const { parser, events } = collect();
    // '0* ' is '0' plus three more; '1*"' is '1' plus five more.
    const body = '0* 1*"';
    feed(parser, Buffer.from(framePacket(Buffer.from(body, 'latin1'))).toString('latin1'));
    expect(events).toEqual([['packet', '0000111111']]);
  });

  it('refuses run-length encoding with nothing to repeat or a bad count', () => {
    const { parser, events } = collect();
    parser.feed(framePacket(Buffer.from('* ', 'latin1')));
    parser.feed(framePacket(Buffer.from('a*\x10', 'latin1')));
    expect(events.map((e) => e[0])).toEqual(['bad', 'bad']);
    expect(events[0][1]).toContain('no byte to repeat');
    expect(events[1][1]).toContain('bad run-length count');
  });

  it('ends a frame at # or restarts at $ right after a run-length marker', () => {
    const { parser, events } = collect();
    // '*' adds to the checksum: 'a' + '*' = 0x8b.
    feed(parser, '$a*#8b$g#67$b*$g#67');
    expect(events).toEqual([
      ['bad', 'run-length marker with no count'],
      ['packet', 'g'],
      ['packet', 'g'],
    ]);
  });

  it('reports an overlong packet once and stays in sync for the next', () => {
    const { parser, events } = collect(8);
    parser.feed(framePacket(Buffer.from('M0,10:00112233445566778899', 'latin1')));
    feed(parser, '$g#67');
    expect(events).toEqual([
      ['overlong', 26],
      ['packet', 'g'],
    ]);
  });

  it('restarts on a $ inside a packet', () => {
    const { parser, events } = collect();
    feed(parser, '$m10$g#67');
    expect(events).toEqual([['packet', 'g']]);
  });
});

describe('hex helpers', () => {
  it('round-trips bytes and refuses odd or non-hex text', () => {
    const data = new Uint8Array([0, 1, 0x7f, 0x80, 0xff]);
    expect(toHex(data)).toBe('00017f80ff');
    expect(fromHex('00017F80ff')).toEqual(data);
    expect(fromHex('abc')).toBeUndefined();
    expect(fromHex('zz')).toBeUndefined();
  });

  it('parses protocol numbers within 16 digits', () => {
    expect(parseHexNumber('ffffffff')).toBe(0xffffffff);
    expect(parseHexNumber('')).toBeUndefined();
    expect(parseHexNumber('12g')).toBeUndefined();
    expect(parseHexNumber('1'.repeat(17))).toBeUndefined();
    expect(parseHexNumber('ffffffffffffffff')).toBeUndefined();
  });

  it('frames with a two-digit lowercase checksum', () => {
    expect(Buffer.from(framePacket(Buffer.from('OK'))).toString()).toBe('$OK#9a');
    expect(Buffer.from(framePacket(new Uint8Array(0))).toString()).toBe('$#00');
  });
});
