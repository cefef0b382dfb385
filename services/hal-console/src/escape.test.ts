import { describe, expect, it } from 'vitest';
import { EscapeFilter } from './escape.js';

const bytes = (...b: number[]) => new Uint8Array(b);

function filter() {
  const events: string[] = [];
  const f = new EscapeFilter({ quit: () => events.push('quit'), help: () => events.push('help') });
  return { f, events, run: (...b: number[]) => [...f.filter(bytes(...b))] };
}

describe('EscapeFilter (Ctrl-A escapes, as in QEMU)', () => {
  it('passes input without Ctrl-A through unchanged', () => {
    const { f } = filter();
    const input = bytes(0x6c, 0x73, 0x0d, 0x03);
    expect(f.filter(input)).toBe(input);
  });

  it('Ctrl-A Ctrl-A sends one Ctrl-A', () => {
    const { run, events } = filter();
    expect(run(0x61, 0x01, 0x01, 0x62)).toEqual([0x61, 0x01, 0x62]);
    expect(run(0x01, 0x01, 0x01, 0x01)).toEqual([0x01, 0x01]);
    expect(events).toEqual([]);
  });

  it('Ctrl-A x quits and nothing after it reaches the guest', () => {
    const { run, events } = filter();
    expect(run(0x61, 0x01, 0x78, 0x62)).toEqual([0x61]);
    expect(events).toEqual(['quit']);
    expect(run(0x63)).toEqual([]);
  });

  it('an escape split across two reads still works', () => {
    const { run, events } = filter();
    expect(run(0x61, 0x01)).toEqual([0x61]);
    expect(run(0x01, 0x62)).toEqual([0x01, 0x62]);
    expect(run(0x01)).toEqual([]);
    expect(run(0x58)).toEqual([]);
    expect(events).toEqual(['quit']);
  });

  it('Ctrl-A h asks for help; Ctrl-A and any other key are dropped', () => {
    const { run, events } = filter();
    expect(run(0x01, 0x68, 0x01, 0x7a, 0x41)).toEqual([0x41]);
    expect(events).toEqual(['help']);
  });
});
