import { StopReason } from '@plex86/proto';
import { describe, expect, it } from 'vitest';
import { FakeTarget } from '../../test/fake-target.js';
import { frame, ReplyReader } from '../../test/rsp-client.js';
import { RspSession } from './session.js';

/** Stops again right after every continue, so a random 'c' cannot hold the queue. */
class BouncingTarget extends FakeTarget {
  override async resume(): Promise<void> {
    await super.resume();
    setImmediate(() => this.stopNow(StopReason.STOP_REASON_HALT_REQUEST));
  }
  override async kill(): Promise<void> {
    this.calls.push('kill');
  }
}

/** xorshift32, so a failing input can be reproduced from the seed. */
function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const NOISE = '$#}*+-\x03:,;=0123456789abcdefgGmMXpPZzscvCqQDkH?';
const ARGUMENTS = '0123456789abcdef,:;=';
const COMMANDS = [
  'g',
  'G',
  'p',
  'P',
  'm',
  'M',
  'X',
  'Z',
  'z',
  's',
  'c',
  'vCont;',
  'vCont?',
  '?',
  'H',
  'T',
  'D',
  'k',
].concat(['qXfer:features:read:target.xml:', 'qRcmd,', 'qSupported:', 'S', 'C', 'vKill;', 'qC', 'qAttached']);

describe('RspSession with random input', () => {
  it('never throws and keeps answering, for random bytes and random well-framed packets', async () => {
    const random = rng(0x5eed);
    const target = new BouncingTarget();
    const reader = new ReplyReader();
    const errors: string[] = [];
    const session = new RspSession(
      target,
      { write: (d) => reader.push(d), close: () => undefined },
      { maxPacketSize: 256 },
    );
    for (let round = 0; round < 400; round++) {
      const length = Math.floor(random() * 60);
      let text = round % 2 === 0 ? '' : COMMANDS[Math.floor(random() * COMMANDS.length)];
      const chars = round % 2 === 0 ? NOISE : ARGUMENTS;
      for (let i = 0; i < length; i++) {
        text +=
          round % 2 === 0 && random() < 0.3
            ? String.fromCharCode(Math.floor(random() * 256))
            : chars[Math.floor(random() * chars.length)];
      }
      try {
        // Even rounds are raw noise; odd ones a command with random arguments and a correct checksum.
        session.receive(round % 2 === 0 ? Buffer.from(text, 'latin1') : frame(text));
        await session.idle();
        await new Promise((r) => setImmediate(r));
        await session.idle();
      } catch (err) {
        errors.push(`round ${round} ${JSON.stringify(text)}: ${String(err)}`);
      }
    }
    expect(errors).toEqual([]);
    // The random packets did reach the dispatcher and the target, and every reply was well framed.
    const packets = reader.history.filter((r) => r.kind === 'packet').length;
    expect(packets).toBeGreaterThan(150);
    expect(new Set(target.calls).size).toBeGreaterThan(5);
    // Close any frame the noise left open, then the session still works.
    session.receive(Buffer.from('#00'));
    reader.take();
    session.receive(frame('qC'));
    expect(await reader.nextPacket()).toBe('QC1');
  });
});
