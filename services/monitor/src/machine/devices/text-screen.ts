/**
 * The PC's 80x25 colour text screen at 0xB8000 as text: what a kernel that writes to the screen
 * shows. The machine models no display adapter (the text buffer is plain RAM), so the screen is
 * read when asked, e.g. at the end of a run (`plex86 run --text-screen`).
 */

import type { PhysicalMemory } from '../../memory/physical-memory.js';

/** The PC's 80x25 colour text screen: two bytes a cell (character, attribute) from 0xB8000. */
export const TEXT_SCREEN = { address: 0xb8000, columns: 80, rows: 25 } as const;

/** Code page 437, the PC's character set, from 0x00 to 0xFF (NUL shows as a space, as on the screen). */
const CP437 =
  ' ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼' +
  ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~⌂' +
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
  'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/**
 * The screen's characters (attributes dropped), one line a row, trailing blanks and blank rows at
 * the bottom left out; an empty screen is the empty string.
 */
export function readTextScreen(mem: PhysicalMemory): string {
  const { address, columns, rows } = TEXT_SCREEN;
  const lines: string[] = [];
  for (let row = 0; row < rows; row++) {
    let line = '';
    for (let column = 0; column < columns; column++) line += CP437[mem.read8(address + (row * columns + column) * 2)];
    lines.push(line.trimEnd());
  }
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
