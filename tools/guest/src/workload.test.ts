import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDebianPackage } from '@plex86/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuest, type Guest } from './build.js';
import {
  DEFAULT_WORKLOAD,
  parseWorkloadOutput,
  referenceResults,
  WORKLOAD_BEGIN,
  WORKLOAD_END,
  WORKLOAD_KEYS,
  WorkloadOutputError,
  workloadScript,
  workloadTypedLines,
  type WorkloadResults,
  type WorkloadSize,
} from './workload.js';
import {
  ConsoleTimeoutError,
  GUEST_PROMPT,
  GuestConsole,
  qemuBootArgs,
  runWorkload,
  startConsoleProcess,
} from './workload-console.js';

const SMALL: WorkloadSize = { lines: 300, arithmetic: 200, forks: 20 };

/** Runs the workload natively with the guest's own busybox (an i386 static binary these hosts run). */
function runNatively(busybox: string, size: WorkloadSize): { results: WorkloadResults; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'plex86-workload-'));
  try {
    // Applets by name resolve to the same busybox, as in the guest.
    const install = spawnSync(busybox, ['--install', '-s', dir]);
    if (install.status !== 0) throw new Error(`busybox --install failed: ${String(install.stderr)}`);
    writeFileSync(join(dir, 'workload.sh'), workloadScript(size, dir));
    const run = spawnSync(busybox, ['sh', join(dir, 'workload.sh')], {
      env: { PATH: dir },
      encoding: 'latin1',
      timeout: 120_000,
    });
    if (run.error) throw new Error(`cannot run ${busybox} natively: ${run.error.message}`);
    expect(run.stderr).toBe('');
    return { results: parseWorkloadOutput(run.stdout), output: run.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the guest workload script and its parser', () => {
  it('types as short lines without tabs, writing the script with a quoted here-document and running it', () => {
    const lines = workloadTypedLines(DEFAULT_WORKLOAD, '/tmp/w.sh');
    expect(lines[0]).toBe("cat >/tmp/w.sh <<'EOF'");
    expect(lines.at(-2)).toBe('EOF');
    expect(lines.at(-1)).toBe('sh /tmp/w.sh');
    for (const line of lines) {
      expect(line.length, line).toBeLessThan(68);
      expect(line).not.toMatch(/\t/);
    }
    // The echo of the typed script must never look like the markers it prints.
    expect(lines.join('\n')).not.toContain(WORKLOAD_BEGIN);
    expect(lines.join('\n')).not.toContain(WORKLOAD_END);
    expect(lines.join('\n')).toContain(`-v n=${DEFAULT_WORKLOAD.lines} `);
  });

  it('rejects sizes and directories it cannot put in a script', () => {
    expect(() => workloadScript({ lines: 0, arithmetic: 1, forks: 1 })).toThrow(/lines/);
    expect(() => workloadScript({ lines: 1, arithmetic: 1.5, forks: 1 })).toThrow(/arithmetic/);
    expect(() => workloadScript(SMALL, '/tmp/a b')).toThrow(/plain absolute path/);
    expect(() => workloadScript(SMALL, 'tmp')).toThrow(/plain absolute path/);
  });

  const sample = (keys: readonly string[]) =>
    [`${WORKLOAD_BEGIN}`, ...keys.map((k, i) => `plex86-workload: ${k}=v${i}`), WORKLOAD_END, 'plex86:/# ']
      .map((l) => `${l}\r\n`)
      .join('');

  it('parses the results between the last begin marker and its end marker, with CR LF line ends', () => {
    const noise = `echo "<<$m begin>>"\r\nplex86-workload: md5=stale\r\n${WORKLOAD_BEGIN}\r\nplex86-workload: md5=old\r\n`;
    const results = parseWorkloadOutput(noise + sample(WORKLOAD_KEYS));
    expect(Object.keys(results)).toEqual([...WORKLOAD_KEYS]);
    WORKLOAD_KEYS.forEach((k, i) => expect(results[k]).toBe(`v${i}`));
  });

  it('says what is missing from incomplete output', () => {
    expect(() => parseWorkloadOutput('plex86:/# ')).toThrow(WorkloadOutputError);
    expect(() => parseWorkloadOutput(sample(WORKLOAD_KEYS.slice(1)))).toThrow(/lacks lines \(got: md5/);
    const cut = sample(WORKLOAD_KEYS).split(WORKLOAD_END)[0] as string;
    expect(() => parseWorkloadOutput(cut)).toThrow(/did not reach .*end/);
    expect(() => parseWorkloadOutput(sample(['md5', ...WORKLOAD_KEYS]))).toThrow(/md5 twice/);
  });
});

describe('the guest console seen from the host', () => {
  it('finds text split across chunks, searching from a given index', async () => {
    const guest = new GuestConsole(() => undefined);
    guest.feed('plex86:/# ');
    const later = guest.waitFor('plex86:/# ', 1_000, 'prompt', 1);
    guest.feed('echo hi\r\nhi\r\nplex');
    guest.feed('86:/');
    guest.feed('# ');
    expect(await later).toBe('plex86:/# echo hi\r\nhi\r\n'.length);
    expect(await guest.waitFor('hi', 1_000, 'hi')).toBe('plex86:/# echo '.length);
  });

  it('times out saying what it waited for and what the console shows', async () => {
    const guest = new GuestConsole(() => undefined);
    await expect(guest.waitFor('#', 20, 'shell prompt')).rejects.toThrow(/no shell prompt .* shown nothing/);
    guest.feed('Trying to unpack rootfs image as initramfs...\n');
    const error = await guest.waitFor('#', 20, 'shell prompt').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConsoleTimeoutError);
    expect(String(error)).toContain('Trying to unpack rootfs');
  });

  it('fails pending and later waits once the machine is gone', async () => {
    const guest = new GuestConsole(() => undefined);
    const pending = guest.waitFor('#', 10_000, 'prompt');
    guest.fail(new Error('qemu exited (status 1)'));
    await expect(pending).rejects.toThrow('qemu exited');
    await expect(guest.waitFor('#', 10_000, 'prompt')).rejects.toThrow('qemu exited');
  });

  it('types each line once the one before it has been echoed', async () => {
    const sent: string[] = [];
    const guest: GuestConsole = new GuestConsole((text) => {
      sent.push(text);
      // The echo comes later, as from a guest.
      setTimeout(() => guest.feed(`${text.replace('\n', '\r\n')}> `), 5);
    });
    const typing = guest.typeLines(['one', 'two', 'three'], 1_000);
    expect(sent).toEqual(['one\n']);
    await typing;
    expect(sent).toEqual(['one\n', 'two\n', 'three\n']);
    expect(guest.output).toBe('one\r\n> two\r\n> three\r\n> ');
  });
});

describe('the workload timed step by step', () => {
  it('knows when each character of the output arrived', () => {
    const guest = new GuestConsole(() => undefined);
    expect(guest.arrivedAt(0)).toBeUndefined();
    guest.feed('abc', 10);
    guest.feed('', 15);
    guest.feed('de', 20);
    expect([0, 1, 2, 3, 4].map((i) => guest.arrivedAt(i))).toEqual([10, 10, 10, 20, 20]);
    expect(guest.arrivedAt(5)).toBeUndefined();
    expect(guest.arrivedAt(-1)).toBeUndefined();
  });

  it('gives each step the time from the result line before it to its own', async () => {
    // Step k takes k + 1 tenths of a second; the script's lines are echoed as they are typed.
    const at = (k: number) => 1_000 + 50 * (k + 1) * (k + 2);
    const guest: GuestConsole = new GuestConsole((text) => {
      setTimeout(() => {
        guest.feed(text.replace('\n', '\r\n'));
        if (!text.startsWith('sh ')) return;
        guest.feed(`${WORKLOAD_BEGIN}\r\n`, at(-1));
        WORKLOAD_KEYS.forEach((key, k) => guest.feed(`plex86-workload: ${key}=v${k}\r\n`, at(k)));
        guest.feed(`${WORKLOAD_END}\r\n${GUEST_PROMPT}`, at(WORKLOAD_KEYS.length));
      }, 1);
    });
    const run = await runWorkload(guest, { size: SMALL, timeoutMs: 5_000 });
    expect(run.results.md5).toBe('v1');
    expect(Object.keys(run.steps)).toEqual([...WORKLOAD_KEYS]);
    WORKLOAD_KEYS.forEach((key, k) => expect(run.steps[key]).toBeCloseTo((k + 1) / 10, 9));
  });

  it('tells as each step ends, before the next one has', async () => {
    // The result lines come a few milliseconds apart, as from a guest that runs the steps.
    const guest: GuestConsole = new GuestConsole((text) => {
      setTimeout(() => {
        guest.feed(text.replace('\n', '\r\n'));
        if (!text.startsWith('sh ')) return;
        guest.feed(`${WORKLOAD_BEGIN}\r\n`);
        WORKLOAD_KEYS.forEach((key, k) =>
          setTimeout(() => guest.feed(`plex86-workload: ${key}=v${k}\r\n`), 5 * (k + 1)),
        );
        setTimeout(() => guest.feed(`${WORKLOAD_END}\r\n${GUEST_PROMPT}`), 5 * (WORKLOAD_KEYS.length + 1));
      }, 1);
    });
    const seen: string[] = [];
    await runWorkload(guest, {
      size: SMALL,
      timeoutMs: 5_000,
      onStep: (key) => {
        const k = WORKLOAD_KEYS.indexOf(key);
        expect(guest.output).toContain(`plex86-workload: ${key}=v${k}`);
        const next = WORKLOAD_KEYS[k + 1];
        if (next !== undefined) expect(guest.output).not.toContain(`plex86-workload: ${next}=`);
        seen.push(key);
      },
    });
    expect(seen).toEqual([...WORKLOAD_KEYS]);
  });
});

// The guest's busybox run natively and under qemu-system-i386 gives the results computed in Node.
describe('the guest workload', () => {
  let guest: Guest;
  let busybox: string;

  beforeAll(async () => {
    guest = await buildGuest();
    busybox = join(await fetchDebianPackage('busybox-static', 'i386'), 'bin', 'busybox');
  }, 300_000);

  it('run natively by busybox-static:i386 gives the results computed in Node', () => {
    for (const size of [SMALL, DEFAULT_WORKLOAD]) {
      const { results } = runNatively(busybox, size);
      expect(results).toMatchObject(referenceResults(size));
      expect(results.forked).toBe('yes');
      expect(Number(results.gzipBytes)).toBeGreaterThan(size.lines * 3);
    }
  }, 120_000);

  it('run in the guest under qemu-system-i386 gives the same results as natively', async () => {
    const qemu = 'qemu-system-i386';
    if (spawnSync(qemu, ['--version']).error) {
      throw new Error(`${qemu} is missing: install it with apt-get install qemu-system-x86`);
    }
    const native = runNatively(busybox, DEFAULT_WORKLOAD).results;
    const machine = startConsoleProcess(qemu, qemuBootArgs(guest.kernel, guest.initrd, guest.cmdline));
    try {
      await machine.console.waitFor(GUEST_PROMPT, 120_000, 'shell prompt');
      const run = await runWorkload(machine.console, { size: DEFAULT_WORKLOAD, timeoutMs: 240_000 });
      expect(run.results).toEqual(native);
      expect(run.results).toMatchObject(referenceResults(DEFAULT_WORKLOAD));
      expect(run.seconds).toBeGreaterThan(0);
      await machine.console.typeLines(['poweroff -f'], 10_000);
      const exit = await machine.exited;
      expect(exit.code, exit.stderr).toBe(0);
    } finally {
      machine.kill();
    }
  }, 420_000);
});
