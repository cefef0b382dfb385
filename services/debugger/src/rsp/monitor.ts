/**
 * GDB `monitor` commands (qRcmd): plain text in, console text out. They reach what the debug
 * interface does not cover through the target's optional monitor capabilities.
 */

import { stopReasonToJSON } from '@plex86/proto';
import type { DebugTarget } from '../target.js';

export interface MonitorResult {
  readonly ok: boolean;
  /** Text for GDB's console, lines ending in '\n'. */
  readonly output: string;
}

const HELP = [
  'plex86 monitor commands:',
  '  monitor stats                 debugger and VM counters',
  '  monitor snapshot save PATH    save a snapshot of the VM to PATH on the monitor host',
  '  monitor sbe ADDR              the SBE attribute page of the page holding linear ADDR',
  '  monitor phys ADDR LEN         LEN bytes of guest-physical memory (1 to 4096)',
  '',
].join('\n');

/** Largest `monitor phys` dump, so one command cannot flood the console. */
const PHYS_LIMIT = 4096;
const PAGE_SIZE = 4096;

function fail(message: string): MonitorResult {
  return { ok: false, output: `${message}\n` };
}

/** `0x1f`, `1f` is not accepted: decimal unless prefixed with 0x, as GDB's own commands read them. */
function parseNumber(text: string | undefined, limit: number): number | undefined {
  if (text === undefined || !/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value < limit ? value : undefined;
}

function hex(value: number | bigint, digits = 8): string {
  return value.toString(16).padStart(digits, '0');
}

/** Classic hex dump: address, 16 bytes, printable characters. */
export function hexDump(address: number, data: Uint8Array, ascii = true): string {
  let out = '';
  for (let i = 0; i < data.length; i += 16) {
    const row = data.subarray(i, Math.min(data.length, i + 16));
    let text = '';
    let chars = '';
    for (let j = 0; j < 16; j++) {
      text += j < row.length ? `${hex(row[j], 2)} ` : '   ';
      if (j < row.length) chars += row[j] >= 0x20 && row[j] < 0x7f ? String.fromCharCode(row[j]) : '.';
    }
    out += ascii ? `${hex(address + i)}  ${text} ${chars}\n` : `${hex(address + i)}  ${text.trimEnd()}\n`;
  }
  return out;
}

export async function runMonitorCommand(target: DebugTarget, command: string): Promise<MonitorResult> {
  const words = command
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const caps = target.monitor;
  try {
    switch (words[0]) {
      case undefined:
      case 'help':
        return { ok: true, output: HELP };
      case 'stats': {
        const status = await target.status();
        const stop = status.lastStop;
        const lines: (readonly [string, string])[] = [
          ['state', status.halted ? 'halted' : 'running'],
          ['breakpoints', String(status.breakpointCount)],
          ['watchpoints', String(status.watchpointCount)],
        ];
        if (stop !== undefined) {
          lines.push(['last stop', `${stopReasonToJSON(stop.reason)} at ${hex(stop.address)} (#${stop.sequence})`]);
          lines.push(['instructions retired', String(stop.instructionsRetired)]);
        }
        if (caps?.stats !== undefined) lines.push(...(await caps.stats()));
        const width = Math.max(...lines.map(([name]) => name.length));
        return { ok: true, output: lines.map(([name, value]) => `${name.padEnd(width)}  ${value}\n`).join('') };
      }
      case 'snapshot': {
        if (words[1] !== 'save' || words.length !== 3) return fail('usage: monitor snapshot save PATH');
        if (caps?.saveSnapshot === undefined) return fail('snapshots are not available on this target');
        await caps.saveSnapshot(words[2]);
        return { ok: true, output: `snapshot saved to ${words[2]}\n` };
      }
      case 'sbe': {
        const address = parseNumber(words[1], 0x1_0000_0000);
        if (address === undefined || words.length !== 2) return fail('usage: monitor sbe ADDR');
        if (caps?.sbePage === undefined) return fail('SBE attribute pages are not available on this target');
        const page = await caps.sbePage(address);
        if (page.physicalPage < 0) return fail(`linear address ${hex(address)} is not mapped`);
        if (page.attributes.length === 0) {
          return { ok: true, output: `page ${hex(page.physicalPage)}: not scanned\n` };
        }
        let marked = 0;
        let body = '';
        const attrs = page.attributes;
        for (let i = 0; i < attrs.length; i += 16) {
          const row = attrs.subarray(i, Math.min(attrs.length, i + 16));
          if (row.every((b) => b === 0)) continue;
          for (const b of row) if (b !== 0) marked++;
          body += hexDump(page.physicalPage + i, row, false);
        }
        const head = `page ${hex(page.physicalPage)} (linear ${hex(address & ~(PAGE_SIZE - 1))}): ${marked} marked bytes\n`;
        return { ok: true, output: head + body };
      }
      case 'phys': {
        const address = parseNumber(words[1], Number.MAX_SAFE_INTEGER);
        const length = parseNumber(words[2], PHYS_LIMIT + 1);
        if (address === undefined || length === undefined || length === 0 || words.length !== 3) {
          return fail(`usage: monitor phys ADDR LEN (LEN 1 to ${PHYS_LIMIT})`);
        }
        if (caps?.readPhysical === undefined) return fail('physical memory is not available on this target');
        const data = await caps.readPhysical(address, length);
        if (data.length === 0) return fail(`physical address ${hex(address)} is outside RAM`);
        const note = data.length < length ? `(${data.length} of ${length} bytes: the rest is outside RAM)\n` : '';
        return { ok: true, output: hexDump(address, data) + note };
      }
      default:
        return fail(`unknown monitor command "${words[0]}"\n${HELP}`);
    }
  } catch (err) {
    return fail(`monitor ${words[0] ?? ''} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
