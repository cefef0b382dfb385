import { describe, expect, it } from 'vitest';
import { CpioType, readCpio, writeCpio } from './cpio.js';

describe('newc cpio', () => {
  it('round-trips files, directories, symlinks and devices', () => {
    const data = new Uint8Array([1, 2, 3, 4, 5]);
    const archive = writeCpio([
      { name: 'bin', type: CpioType.Directory, permissions: 0o755 },
      { name: 'bin/tool', type: CpioType.File, permissions: 0o755, data },
      { name: 'sh', type: CpioType.Symlink, permissions: 0o777, data: new TextEncoder().encode('bin/tool') },
      { name: 'console', type: CpioType.CharDevice, permissions: 0o600, major: 5, minor: 1 },
    ]);
    expect(archive.length % 4).toBe(0);
    const entries = readCpio(archive);
    expect(entries.map((e) => [e.name, e.type, e.permissions])).toEqual([
      ['bin', CpioType.Directory, 0o755],
      ['bin/tool', CpioType.File, 0o755],
      ['sh', CpioType.Symlink, 0o777],
      ['console', CpioType.CharDevice, 0o600],
    ]);
    expect(entries[1]?.data).toEqual(data);
    expect(new TextDecoder().decode(entries[2]?.data)).toBe('bin/tool');
    expect([entries[3]?.major, entries[3]?.minor]).toEqual([5, 1]);
  });

  it('writes the header fields the kernel reads, and ends with the trailer', () => {
    const archive = writeCpio([{ name: 'a', type: CpioType.File, permissions: 0o644, data: new Uint8Array(3) }]);
    const text = new TextDecoder('latin1').decode(archive);
    expect(text.slice(0, 6)).toBe('070701');
    expect(text.slice(14, 22)).toBe((0o100644).toString(16).padStart(8, '0'));
    expect(text.slice(54, 62)).toBe('00000003'); // file size
    expect(text.slice(94, 102)).toBe('00000002'); // name size with its NUL
    expect(text).toContain('TRAILER!!!');
  });

  it('refuses names that leave the archive', () => {
    expect(() => writeCpio([{ name: '../etc/passwd', type: CpioType.File, permissions: 0o644 }])).toThrow(/relative/);
    expect(() => writeCpio([{ name: '/init', type: CpioType.File, permissions: 0o755 }])).toThrow(/relative/);
  });

  it('reports a truncated archive', () => {
    const archive = writeCpio([{ name: 'a', type: CpioType.File, permissions: 0o644, data: new Uint8Array(64) }]);
    expect(() => readCpio(archive.subarray(0, 150))).toThrow(/runs past the end|truncated/);
  });
});
