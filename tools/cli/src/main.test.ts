import { describe, expect, it } from 'vitest';
import { integerOption, UsageError } from './command.js';
import { commands } from './commands/index.js';
import { main } from './main.js';
import { captureIo } from './testing.js';

describe('plex86 command line', () => {
  it('lists every command in its help', async () => {
    const io = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    for (const c of commands) expect(io.stdout()).toContain(`  ${c.name}`);
  });

  it('exits 2 with the command list when no command is given', async () => {
    const io = captureIo();
    expect(await main([], io)).toBe(2);
    expect(io.stdout()).toContain('Usage: plex86 COMMAND');
  });

  it('rejects an unknown command', async () => {
    const io = captureIo();
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(io.stderr()).toContain('unknown command "frobnicate"');
  });

  it.each(commands.map((c) => c.name))('prints help for %s', async (name) => {
    const io = captureIo();
    expect(await main([name, '--help'], io)).toBe(0);
    expect(io.stdout()).toMatch(new RegExp(`^Usage: plex86 ${name}`));
  });

  it('rejects an unknown option with the usage', async () => {
    const io = captureIo();
    expect(await main(['version', '--no-such-option'], io)).toBe(2);
    expect(io.stderr()).toContain("Unknown option '--no-such-option'");
    expect(io.stderr()).toContain('Usage: plex86 version');
  });

  it('prints the version of the workspace', async () => {
    const io = captureIo();
    expect(await main(['version'], io)).toBe(0);
    expect(io.stdout()).toMatch(/^plex86 \d+\.\d+\.\d+ \(node \d+/);
  });

  it('names the missing benchmark', async () => {
    const io = captureIo();
    expect(await main(['bench', 'no-such-benchmark'], io)).toBe(2);
    expect(io.stderr()).toContain('no benchmark named "no-such-benchmark"');
  });
});

describe('integerOption', () => {
  it('parses hexadecimal with or without 0x', () => {
    expect(integerOption({ base: '0x7C00' }, 'base', 16, 0)).toBe(0x7c00);
    expect(integerOption({ base: 'ff' }, 'base', 16, 0)).toBe(255);
    expect(integerOption({}, 'base', 16, 42)).toBe(42);
  });

  it('refuses junk with a usage error', () => {
    expect(() => integerOption({ bits: '3x' }, 'bits', 10, 0)).toThrow(UsageError);
    expect(() => integerOption({ base: 'zz' }, 'base', 16, 0)).toThrow(/hexadecimal/);
  });
});
