/** Minimal ELF32 little-endian section reader (enough to find .text in an i386 executable). */

export interface ElfSection {
  readonly name: string;
  /** Virtual address of the first byte. */
  readonly address: number;
  readonly offset: number;
  readonly size: number;
  /** The section's bytes (a view into the file bytes). */
  readonly bytes: Uint8Array;
}

/** Malformed or unsupported ELF input. */
export class ElfError extends Error {}

/** Lists the sections of an ELF32 little-endian file, bounds-checking every header against the input. */
export function elfSections(file: Uint8Array): ElfSection[] {
  if (file.length < 52 || file[0] !== 0x7f || file[1] !== 0x45 || file[2] !== 0x4c || file[3] !== 0x46) {
    throw new ElfError('not an ELF file');
  }
  if (file[4] !== 1 || file[5] !== 1) throw new ElfError('only 32-bit little-endian ELF is supported');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const shoff = view.getUint32(0x20, true);
  const shentsize = view.getUint16(0x2e, true);
  const shnum = view.getUint16(0x30, true);
  const shstrndx = view.getUint16(0x32, true);
  if (shentsize < 40 || shoff + shnum * shentsize > file.length) throw new ElfError('section headers out of range');
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      name: view.getUint32(at, true),
      type: view.getUint32(at + 4, true),
      address: view.getUint32(at + 12, true),
      offset: view.getUint32(at + 16, true),
      size: view.getUint32(at + 20, true),
    };
  };
  if (shstrndx >= shnum) throw new ElfError('no section name table');
  const names = header(shstrndx);
  if (names.offset + names.size > file.length) throw new ElfError('section name table out of range');
  const nameAt = (index: number): string => {
    let end = names.offset + index;
    const limit = names.offset + names.size;
    if (end >= limit) throw new ElfError('section name out of range');
    const start = end;
    while (end < limit && file[end] !== 0) end++;
    return String.fromCharCode(...file.subarray(start, end));
  };
  const sections: ElfSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const nobits = h.type === 8; // SHT_NOBITS (.bss) occupies no file bytes
    if (!nobits && h.offset + h.size > file.length) throw new ElfError(`section ${i} out of range`);
    sections.push({
      name: nameAt(h.name),
      address: h.address,
      offset: h.offset,
      size: h.size,
      bytes: nobits ? new Uint8Array(0) : file.subarray(h.offset, h.offset + h.size),
    });
  }
  return sections;
}

/** The named section (e.g. `.text`), or an ElfError naming what is missing. */
export function elfSection(file: Uint8Array, name: string): ElfSection {
  const section = elfSections(file).find((s) => s.name === name);
  if (!section) throw new ElfError(`no ${name} section`);
  return section;
}
