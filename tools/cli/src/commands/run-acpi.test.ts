/**
 * The default guest (Debian's stock 686 kernel) powers the machine off and resets it the standard
 * way, through the ACPI tables and fixed hardware the Linux loader provides: `poweroff` at the
 * shell enters S5 and the run ends with status 0; `reboot` writes the FADT's reset register. One
 * boot per scenario, through the `plex86` command in a child process, bounded by
 * --max-instructions.
 */

import { join } from 'node:path';
import { buildGuest, GUEST_PROMPT, startConsoleProcess, type ConsoleProcess, type Guest } from '@plex86/guest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '../../bin/plex86.mjs');
/** A boot takes about 15 minutes when several share this machine's two cores. */
const BOOT_TIMEOUT_MS = 1_800_000;
const COMMAND_TIMEOUT_MS = 120_000;
/** Far more than a boot and a shutdown take (about 5 billion), far less than a hung guest runs. */
const MAX_INSTRUCTIONS = '30000000000';
const running: ConsoleProcess[] = [];
let guest: Guest;

beforeAll(async () => {
  guest = await buildGuest();
}, BOOT_TIMEOUT_MS);

afterAll(() => {
  for (const p of running) p.kill();
});

interface Ended {
  code: number | null;
  stderr: string;
  console: string;
  /** What `cat /proc/interrupts` printed before the last command. */
  interrupts: string;
}

/**
 * Boots the default guest to its shell prompt, lists its interrupts, types `command` and waits for
 * the run to end.
 */
async function bootAndType(command: string): Promise<Ended> {
  const vm = startConsoleProcess(process.execPath, [
    CLI,
    'run',
    ...['--kernel', guest.kernel, '--initrd', guest.initrd, '--append', 'console=ttyS0'],
    ...['--max-instructions', MAX_INSTRUCTIONS],
  ]);
  running.push(vm);
  await vm.console.waitFor(GUEST_PROMPT, BOOT_TIMEOUT_MS, 'shell prompt on ttyS0');
  await vm.console.typeLines(['cat /proc/interrupts'], COMMAND_TIMEOUT_MS);
  const from = vm.console.output.length;
  const prompt = await vm.console.waitFor(
    GUEST_PROMPT,
    COMMAND_TIMEOUT_MS,
    'the prompt after the interrupt list',
    from,
  );
  const interrupts = vm.console.output.slice(from, prompt).replace(/\r/g, '');
  vm.child.stdin?.write(`${command}\n`);
  const end = await vm.exited;
  return { code: end.code, stderr: end.stderr, console: vm.console.output, interrupts };
}

describe('ACPI power-off and reset of the default guest', () => {
  it(
    'poweroff enters S5: the run ends with status 0 and says the guest powered the machine off',
    async () => {
      const run = await bootAndType('poweroff');
      // The kernel found the tables and the sleep state, and routed PCI interrupts through ACPI.
      expect(run.console).toMatch(/ACPI: RSDP 0x00000000000F0000 000014 \(v00 PLEX86\)/);
      expect(run.console).toMatch(/ACPI: PM: \(supports S0 S5\)/);
      expect(run.console).toMatch(/PCI: Using ACPI for IRQ routing/);
      expect(run.console).not.toMatch(/no GSI|ACPI BIOS Error|ACPI Error|ACPI Warning/);
      // The SCI is on IRQ 9 at the 8259A; the virtio console in slot 2 (INTA, PIRQC) interrupts on
      // IRQ 10 as the _PRT says, and its interrupts arrive.
      expect(run.interrupts).toMatch(/^\s*9:\s+\d+\s+XT-PIC\b.*\sacpi\s*$/m);
      const virtio = /^\s*10:\s+(\d+)\s+XT-PIC\b.*\svirtio\d+\s*$/m.exec(run.interrupts);
      expect(virtio, run.interrupts).not.toBeNull();
      expect(Number(virtio?.[1])).toBeGreaterThan(0);
      expect(run.console).toMatch(/reboot: Power down/);
      expect(run.stderr).toContain('plex86: the guest powered the machine off');
      expect(run.code).toBe(0);
    },
    BOOT_TIMEOUT_MS,
  );

  it(
    'reboot writes the reset register: the run ends with status 0 and the reset message',
    async () => {
      const run = await bootAndType('reboot');
      expect(run.console).toMatch(/reboot: Restarting system/);
      expect(run.stderr).toMatch(/plex86: the guest reset the machine \(ACPI reset register\)/);
      expect(run.code).toBe(0);
    },
    BOOT_TIMEOUT_MS,
  );
});
