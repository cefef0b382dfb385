import { BreakpointKind, StopReason, WatchKind } from '@plex86/proto';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeTarget } from '../../test/fake-target.js';
import { frame, hexText, ReplyReader } from '../../test/rsp-client.js';
import { REGISTER_FILE_SIZE, REGISTERS } from './registers.js';
import { refuseClient, RspSession } from './session.js';

let target: FakeTarget;
let reader: ReplyReader;
let session: RspSession;
let closed: number;
let log: string[];

function start(maxPacketSize?: number): void {
  target = new FakeTarget();
  reader = new ReplyReader();
  closed = 0;
  log = [];
  session = new RspSession(
    target,
    { write: (data) => reader.push(data), close: () => closed++ },
    { maxPacketSize, log: (line) => log.push(line) },
  );
}

/** Sends one packet and returns the server's answer (after its '+'). */
async function ask(text: string): Promise<string> {
  session.receive(frame(text));
  await session.idle();
  const replies = reader.take();
  expect(replies[0]).toEqual({ kind: '+' });
  expect(replies).toHaveLength(2);
  const reply = replies[1];
  if (reply.kind !== 'packet') throw new Error(`expected a packet, got ${reply.kind}`);
  return reply.text;
}

const regOffset = (name: string) => {
  let offset = 0;
  for (const r of REGISTERS) {
    if (r.name === name) return offset;
    offset += r.size;
  }
  throw new Error(name);
};

beforeEach(() => start());

describe('RspSession handshake and framing', () => {
  it('answers qSupported with the packet size and features, noting the client features', async () => {
    const reply = await ask('qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386');
    expect(reply.split(';')).toEqual([
      'PacketSize=4000',
      'QStartNoAckMode+',
      'qXfer:features:read+',
      'swbreak+',
      'hwbreak+',
      'vContSupported+',
    ]);
  });

  it('switches to no-ack mode after acknowledging QStartNoAckMode', async () => {
    expect(await ask('QStartNoAckMode')).toBe('OK');
    session.receive(frame('qC'));
    await session.idle();
    expect(reader.take()).toEqual([{ kind: 'packet', text: 'QC1' }]);
  });

  it('NAKs a bad checksum in ack mode and drops it silently in no-ack mode', async () => {
    session.receive(Buffer.from('$g#00'));
    await session.idle();
    expect(reader.take()).toEqual([{ kind: '-' }]);
    expect(log[0]).toContain('checksum mismatch');
    await ask('QStartNoAckMode');
    session.receive(Buffer.from('$g#00'));
    await session.idle();
    expect(reader.take()).toEqual([]);
    expect(target.calls).not.toContain('readRegisters');
  });

  it('retransmits its last reply on a NAK', async () => {
    const reply = await ask('qC');
    session.receive(Buffer.from('-'));
    expect(reader.take()).toEqual([{ kind: 'packet', text: reply }]);
  });

  it('answers an overlong packet with an error and keeps working', async () => {
    start(64);
    expect(await ask(`M0,40:${'00'.repeat(0x40)}`)).toBe('E01');
    expect(log[0]).toContain('exceeds the packet size 64');
    expect(target.calls).not.toContain('writeMemory');
    expect(await ask('qC')).toBe('QC1');
  });

  it('answers unknown packets with an empty reply', async () => {
    expect(await ask('qUnknownThing')).toBe('');
    expect(await ask('vMustReplyEmpty')).toBe('');
    expect(await ask('!')).toBe('');
    expect(await ask('Z9,0,0')).toBe('');
  });

  it('answers malformed packets with errors', async () => {
    for (const bad of ['mzz,4', 'm10', 'M0,2:00', 'M0,1:0g', 'X0,2:a', 'pzz', 'P8', 'Z0,1000', 'G123', 'Z2,10,0']) {
      expect(await ask(bad), bad).toBe('E01');
    }
  });

  it('sends error messages as text when the client reads them', async () => {
    await ask('qSupported:error-message+');
    expect(await ask('m10')).toBe('E.bad m packet');
    target.failNext = 'readRegisters';
    expect(await ask('g')).toBe('E.read registers: readRegisters failed on purpose');
  });

  it('keeps answering after a target failure', async () => {
    target.failNext = 'readRegisters';
    expect(await ask('g')).toBe('E05');
    expect(log[0]).toContain('readRegisters failed on purpose');
    expect(await ask('g')).toHaveLength(REGISTER_FILE_SIZE * 2);
  });
});

describe('RspSession target description', () => {
  it('serves target.xml in chunks, m then l, with binary escaping', async () => {
    let xml = '';
    let offset = 0;
    for (;;) {
      const reply = await ask(`qXfer:features:read:target.xml:${offset.toString(16)},100`);
      expect(['m', 'l']).toContain(reply[0]);
      const chunk = reply.slice(1);
      xml += chunk;
      offset += chunk.length;
      if (reply[0] === 'l') break;
      expect(chunk).toHaveLength(0x100);
    }
    expect(xml).toContain('<feature name="org.gnu.gdb.i386.core">');
    expect(xml).toContain('<architecture>i386</architecture>');
    for (const name of ['eflags', 'cs', 'gs', 'st7', 'fctrl', 'fop', 'cr3']) expect(xml).toContain(`name="${name}"`);
    expect(await ask(`qXfer:features:read:target.xml:${(xml.length + 5).toString(16)},10`)).toBe('l');
    expect(await ask('qXfer:features:read:other.xml:0,10')).toBe('E00');
  });
});

describe('RspSession registers', () => {
  it('reads the register file in GDB order with x87 state', async () => {
    const hex = await ask('g');
    expect(hex).toHaveLength(REGISTER_FILE_SIZE * 2);
    const data = Buffer.from(hex, 'hex');
    expect(data.readUInt32LE(0)).toBe(0x11223344);
    expect(data.readUInt32LE(regOffset('eip'))).toBe(0x100);
    expect(data.readUInt32LE(regOffset('eflags'))).toBe(0x202);
    expect(data.readUInt32LE(regOffset('cs'))).toBe(0x08);
    expect(data.readUInt32LE(regOffset('gs'))).toBe(0x18);
    expect(data.subarray(regOffset('st0'), regOffset('st0') + 10).toString('hex')).toBe('0000000000000080ff3f');
    expect(data.readUInt32LE(regOffset('ftag'))).toBe(0x3fff);
    expect(data.readUInt32LE(regOffset('fop'))).toBe(0x1e8);
    expect(data.readUInt32LE(regOffset('cr3'))).toBe(0x9000);
  });

  it('reads and writes single registers', async () => {
    expect(await ask('p8')).toBe('00010000');
    expect(await ask('P0=efbeadde')).toBe('OK');
    expect(target.registers.eax).toBe(0xdeadbeef);
    expect(await ask('P11=0000000000000000ff3f')).toBe('OK');
    expect(Buffer.from(target.registers.x87?.st[1] ?? []).toString('hex')).toBe('0000000000000000ff3f');
    expect(await ask('Pc=23000000')).toBe('OK');
    expect(target.registers.ds?.selector).toBe(0x23);
    expect(target.registers.ds?.base).toBe(0);
    expect(await ask('P63=00000000')).toBe('E01');
    expect(await ask('P0=0000')).toBe('E01');
    expect(await ask('p63')).toBe('E01');
  });

  it('writes the whole file with G, and a G cut inside a register is refused', async () => {
    const data = Buffer.from(await ask('g'), 'hex');
    data.writeUInt32LE(0x12345678, regOffset('esi'));
    data.writeUInt32LE(0x1d7, regOffset('fop'));
    expect(await ask(`G${data.toString('hex')}`)).toBe('OK');
    expect(target.registers.esi).toBe(0x12345678);
    expect(target.registers.x87?.lastOpcode).toBe(0x1d7);
    expect(await ask(`G${data.subarray(0, 6).toString('hex')}`)).toBe('E01');
  });
});

describe('RspSession memory', () => {
  it('reads memory, short at the end of the mapping, and fails when nothing is readable', async () => {
    target.memory.set([1, 2, 3, 4], 0x1000);
    expect(await ask('m1000,4')).toBe('01020304');
    expect(await ask('m1ffe,8')).toBe('0000');
    expect(await ask('m3000,4')).toBe('E0e');
    expect(await ask('m100000000,4')).toBe('E01');
  });

  it('writes memory with M and X, X carrying escaped binary', async () => {
    expect(await ask('M10,3:aabbcc')).toBe('OK');
    expect([...target.memory.subarray(0x10, 0x13)]).toEqual([0xaa, 0xbb, 0xcc]);
    expect(await ask('X20,0:')).toBe('OK');
    session.receive(frame('X20,4:}\x04}\x03}]}\x0a'));
    await session.idle();
    expect(reader.take().at(-1)).toEqual({ kind: 'packet', text: 'OK' });
    expect(Buffer.from(target.memory.subarray(0x20, 0x24)).toString('latin1')).toBe('$#}*');
    expect(await ask('M1fff,2:0102')).toBe('E0e');
  });
});

describe('RspSession breakpoints and execution', () => {
  it('maps Z0-Z4 and z0-z4 onto the target', async () => {
    expect(await ask('Z0,1000,1')).toBe('OK');
    expect(await ask('Z1,1004,1')).toBe('OK');
    expect(await ask('Z2,2000,4')).toBe('OK');
    expect(await ask('Z3,2010,2')).toBe('OK');
    expect(await ask('Z4,2020,1;X1,0')).toBe('OK');
    expect([...target.breakpoints]).toEqual([
      `${BreakpointKind.BREAKPOINT_KIND_SOFTWARE}:1000`,
      `${BreakpointKind.BREAKPOINT_KIND_HARDWARE}:1004`,
    ]);
    expect([...target.watchpoints]).toEqual([
      `${WatchKind.WATCH_KIND_WRITE}:2000:4`,
      `${WatchKind.WATCH_KIND_READ}:2010:2`,
      `${WatchKind.WATCH_KIND_ACCESS}:2020:1`,
    ]);
    expect(await ask('z0,1000,1')).toBe('OK');
    expect(await ask('z2,2000,4')).toBe('OK');
    expect(await ask('z0,1000,1')).toBe('E05');
    expect(target.breakpoints.size).toBe(1);
    expect(target.watchpoints.size).toBe(2);
    target.unsupportedWatchKinds.add(WatchKind.WATCH_KIND_READ);
    expect(await ask('Z3,3000,4')).toBe('');
  });

  it('steps and reports a SIGTRAP stop; ? repeats the last stop', async () => {
    expect(await ask('s')).toBe('T05thread:1;');
    expect(target.registers.eip).toBe(0x101);
    expect(await ask('vCont;s:1;c')).toBe('T05thread:1;');
    expect(target.registers.eip).toBe(0x102);
    expect(await ask('?')).toBe('T05thread:1;');
    expect(await ask('vCont?')).toBe('vCont;c;C;s;S');
  });

  it('steps from a given address', async () => {
    expect(await ask('s200')).toBe('T05thread:1;');
    expect(target.registers.eip).toBe(0x201);
  });

  it('continues until a breakpoint stop, naming swbreak only when the client supports it', async () => {
    await ask('qSupported:swbreak+');
    session.receive(frame('c'));
    await new Promise((r) => setTimeout(r, 10));
    expect(target.calls).toContain('resume');
    expect(reader.take()).toEqual([{ kind: '+' }]);
    target.stopNow(StopReason.STOP_REASON_BREAKPOINT, {
      $case: 'breakpoint',
      value: { kind: BreakpointKind.BREAKPOINT_KIND_SOFTWARE, address: 0x100n },
    });
    expect(await reader.nextPacket()).toBe('T05swbreak:;thread:1;');
    session.receive(frame('vCont;c'));
    await new Promise((r) => setTimeout(r, 10));
    target.stopNow(StopReason.STOP_REASON_BREAKPOINT, {
      $case: 'breakpoint',
      value: { kind: BreakpointKind.BREAKPOINT_KIND_HARDWARE, address: 0x100n },
    });
    expect(await reader.nextPacket()).toBe('T05thread:1;');
  });

  it('reports watchpoint hits by kind and address', async () => {
    const cases: [WatchKind, string][] = [
      [WatchKind.WATCH_KIND_WRITE, 'watch'],
      [WatchKind.WATCH_KIND_READ, 'rwatch'],
      [WatchKind.WATCH_KIND_ACCESS, 'awatch'],
    ];
    for (const [kind, name] of cases) {
      session.receive(frame('c'));
      await new Promise((r) => setTimeout(r, 5));
      target.stopNow(StopReason.STOP_REASON_WATCHPOINT, {
        $case: 'watchpoint',
        value: { kind, address: 0x2000n, length: 4 },
      });
      expect(await reader.nextPacket()).toBe(`T05${name}:2000;thread:1;`);
    }
  });

  it('interrupts a running guest on Ctrl-C with one SIGINT stop', async () => {
    session.receive(frame('c'));
    await new Promise((r) => setTimeout(r, 10));
    session.receive(Buffer.from([0x03]));
    expect(await reader.nextPacket()).toBe('T02thread:1;');
    expect(target.calls.filter((c) => c === 'halt')).toHaveLength(1);
    // The stop came both from the listener and from halt's reply; it is answered once.
    await new Promise((r) => setTimeout(r, 10));
    expect(reader.take()).toEqual([]);
  });

  it('interrupts a continue that had not started yet when Ctrl-C came', async () => {
    // gdb's continue and its interrupt in one chunk: the continue is still queued behind the p.
    session.receive(Buffer.concat([frame('p8'), frame('c'), Buffer.from([0x03])]));
    expect(await reader.nextPacket()).toBe('00010000');
    expect(await reader.nextPacket()).toBe('T02thread:1;');
    expect(target.calls.filter((c) => c === 'halt')).toHaveLength(1);
    // Consumed by that continue: the next one runs until something stops it.
    session.receive(frame('c'));
    await new Promise((r) => setTimeout(r, 10));
    expect(target.calls.filter((c) => c === 'halt')).toHaveLength(1);
    expect(target.halted).toBe(false);
  });

  it('ends the continue with an error when the interrupt fails', async () => {
    session.receive(frame('c'));
    await new Promise((r) => setTimeout(r, 10));
    target.failNext = 'halt';
    session.receive(Buffer.from([0x03]));
    expect(await reader.nextPacket()).toBe('E05');
    expect(log.some((l) => l.includes('interrupt failed: halt failed on purpose'))).toBe(true);
    expect(await ask('qC')).toBe('QC1');
  });

  it('ignores Ctrl-C while halted', async () => {
    session.receive(Buffer.from([0x03]));
    await session.idle();
    expect(target.calls).not.toContain('halt');
    expect(reader.take()).toEqual([]);
  });

  it('halts a running target when asked ? on attach', async () => {
    target.halted = false;
    expect(await ask('?')).toBe('T02thread:1;');
    expect(target.calls).toContain('halt');
  });

  it('reports a VM exit as W00 or X06', async () => {
    session.receive(frame('c'));
    await new Promise((r) => setTimeout(r, 5));
    target.stopNow(StopReason.STOP_REASON_EXITED, {
      $case: 'exit',
      value: { reason: 2, message: 'power off', instructionAddress: 0n },
    });
    expect(await reader.nextPacket()).toBe('W00');
    session.receive(frame('c'));
    await new Promise((r) => setTimeout(r, 5));
    target.stopNow(StopReason.STOP_REASON_EXITED, {
      $case: 'exit',
      value: { reason: 3, message: 'triple fault', instructionAddress: 0n },
    });
    expect(await reader.nextPacket()).toBe('X06');
  });

  it('answers a continue the target refuses with an error', async () => {
    target.failNext = 'resume';
    expect(await ask('c')).toBe('E05');
  });

  it('detaches on D, leaving the guest running, and not again on close', async () => {
    await ask('Z0,10,1');
    expect(await ask('D')).toBe('OK');
    expect(target.breakpoints.size).toBe(0);
    await session.close();
    expect(target.calls.filter((c) => c.startsWith('detach'))).toEqual(['detach true']);
  });

  it('detaches and resumes when the connection drops, ending a pending continue', async () => {
    session.receive(frame('c'));
    await new Promise((r) => setTimeout(r, 5));
    await session.close();
    await session.idle();
    expect(target.calls).toContain('detach true');
    expect(reader.take()).toEqual([{ kind: '+' }]);
  });

  it('kills the VM on k and closes the connection without a reply', async () => {
    session.receive(frame('k'));
    await session.idle();
    expect(target.calls).toContain('kill');
    expect(closed).toBe(1);
    expect(reader.take()).toEqual([{ kind: '+' }]);
  });

  it('kills the VM on vKill and answers it, as gdb waits for that reply', async () => {
    expect(await ask('vKill;a410')).toBe('OK');
    expect(target.calls).toContain('kill');
    expect(closed).toBe(0);
    // No detach after a kill when the connection then drops.
    await session.close();
    expect(target.calls.filter((c) => c.startsWith('detach'))).toEqual([]);
    start();
    target.failNext = 'kill';
    expect(await ask('vKill;1')).toBe('E05');
  });

  it('answers thread queries for the one CPU', async () => {
    expect(await ask('qfThreadInfo')).toBe('m1');
    expect(await ask('qsThreadInfo')).toBe('l');
    expect(await ask('qAttached')).toBe('1');
    expect(await ask('Hg0')).toBe('OK');
    expect(await ask('T1')).toBe('OK');
  });
});

describe('RspSession monitor commands', () => {
  /** Runs a monitor command and returns its console output and final reply. */
  async function monitor(command: string): Promise<{ output: string; reply: string }> {
    session.receive(frame(`qRcmd,${hexText(command)}`));
    await session.idle();
    let output = '';
    let reply = '';
    for (const r of reader.take()) {
      if (r.kind !== 'packet') continue;
      if (r.text.startsWith('O') && r.text !== 'OK') output += Buffer.from(r.text.slice(1), 'hex').toString('latin1');
      else reply = r.text;
    }
    return { output, reply };
  }

  it('monitor stats shows state, counts, the last stop and target counters', async () => {
    await ask('Z0,10,1');
    await ask('s');
    const { output, reply } = await monitor('stats');
    expect(reply).toBe('OK');
    expect(output).toMatch(/state\s+halted/);
    expect(output).toMatch(/breakpoints\s+1/);
    expect(output).toMatch(/last stop\s+STOP_REASON_STEP at 00000101/);
    expect(output).toMatch(/blocks\s+42/);
  });

  it('monitor phys dumps physical memory and checks its arguments', async () => {
    target.memory.set(Buffer.from('plex86!'), 0x40);
    const { output, reply } = await monitor('phys 0x40 8');
    expect(reply).toBe('OK');
    expect(output).toMatch(/^00000040 {2}70 6c 65 78 38 36 21 00 {26}plex86!\.\n$/);
    expect((await monitor('phys 0x40 5000')).reply).toBe('E01');
    expect((await monitor('phys zz 1')).output).toContain('usage: monitor phys');
    expect(await monitor('phys 0x40 0')).toEqual({
      output: 'usage: monitor phys ADDR LEN (LEN 1 to 4096)\n',
      reply: 'E01',
    });
    expect((await monitor('phys 0x3000 4')).output).toContain('outside RAM');
  });

  it('monitor sbe shows the marked bytes of the attribute page', async () => {
    const { output, reply } = await monitor('sbe 0x1234');
    expect(reply).toBe('OK');
    expect(output).toContain('page 00101000 (linear 00001000): 2 marked bytes');
    expect(output).toContain('00101010  81 02 00');
    const unmapped = await monitor('sbe 0x3000');
    expect(unmapped.reply).toBe('E01');
    expect(unmapped.output).toBe('linear address 00003000 is not mapped\n');
  });

  it('monitor snapshot save passes the path on', async () => {
    expect((await monitor('snapshot save /tmp/vm.snap')).output).toBe('snapshot saved to /tmp/vm.snap\n');
    expect(target.calls).toContain('snapshot /tmp/vm.snap');
  });

  it('says which commands the target cannot serve, and lists commands for unknown ones', async () => {
    target.monitor = undefined;
    expect((await monitor('phys 0 4')).output).toContain('not available');
    expect((await monitor('snapshot save x')).output).toContain('not available');
    const unknown = await monitor('frobnicate');
    expect(unknown.reply).toBe('E01');
    expect(unknown.output).toContain('unknown monitor command "frobnicate"');
    expect(unknown.output).toContain('monitor stats');
    expect(await ask('qRcmd,zz')).toBe('E01');
  });
});

describe('refuseClient', () => {
  it('answers the first packet with an error message and closes', () => {
    const refused = new ReplyReader();
    let closes = 0;
    const receive = refuseClient(
      { write: (d) => refused.push(d), close: () => closes++ },
      'another debugger is attached',
    );
    receive(Buffer.from('+'));
    receive(frame('qSupported:swbreak+'));
    receive(frame('qC'));
    expect(refused.take()).toEqual([{ kind: '+' }, { kind: 'packet', text: 'E.another debugger is attached' }]);
    expect(closes).toBe(1);
  });
});
