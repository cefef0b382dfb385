/**
 * The few ACPI Machine Language encodings the DSDT needs (ACPI 6.5 §20 "ACPI Machine Language
 * (AML) Specification") and the resource descriptors of a PCI root bridge's _CRS (§6.4). Each
 * function returns the bytes of one term; callers concatenate them.
 */

/** §20.2.3 Data Objects Encoding and §20.2.5 Term Objects Encoding. */
export const enum AmlOp {
  ZERO = 0x00,
  ONE = 0x01,
  NAME = 0x08,
  BYTE_PREFIX = 0x0a,
  WORD_PREFIX = 0x0b,
  DWORD_PREFIX = 0x0c,
  SCOPE = 0x10,
  BUFFER = 0x11,
  PACKAGE = 0x12,
  DUAL_NAME_PREFIX = 0x2e,
  ROOT_CHAR = 0x5c,
  EXT_OP_PREFIX = 0x5b,
  /** DeviceOp is ExtOpPrefix 0x82. */
  DEVICE = 0x82,
}

/**
 * PkgLength (§20.2.4): the length of the package including the PkgLength bytes themselves. One
 * byte holds up to 63; otherwise bits 7-6 of the lead byte count the bytes that follow, its bits
 * 3-0 are the least significant nibble and each following byte adds eight more bits.
 */
export function pkgLength(bodyLength: number): number[] {
  for (let n = 1; n <= 4; n++) {
    const total = bodyLength + n;
    if (n === 1 && total < 0x40) return [total];
    if (n > 1 && total < 2 ** (4 + 8 * (n - 1))) {
      const out = [((n - 1) << 6) | (total & 0x0f)];
      for (let i = 1; i < n; i++) out.push((total >>> (4 + 8 * (i - 1))) & 0xff);
      return out;
    }
  }
  throw new RangeError(`an AML package of ${bodyLength} bytes is too long for PkgLength`);
}

/** A NameSeg (§20.2.2): up to four characters from A-Z, 0-9 and _, padded with _. */
export function nameSeg(name: string): number[] {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(name)) throw new RangeError(`"${name}" is not an AML NameSeg`);
  const padded = name.padEnd(4, '_');
  return [...padded].map((c) => c.charCodeAt(0));
}

/** A NameString (§20.2.2): an optional leading \ and one or two dot-separated NameSegs. */
export function nameString(path: string): number[] {
  const rooted = path.startsWith('\\');
  const segs = (rooted ? path.slice(1) : path).split('.');
  const out = rooted ? [AmlOp.ROOT_CHAR] : [];
  if (segs.length === 1) out.push(...nameSeg(segs[0]));
  else if (segs.length === 2) out.push(AmlOp.DUAL_NAME_PREFIX, ...nameSeg(segs[0]), ...nameSeg(segs[1]));
  else throw new RangeError(`AML name "${path}" has more than two segments`);
  return out;
}

/** The shortest integer encoding (§20.2.3): ZeroOp, OneOp, or a Byte/Word/DWord constant. */
export function integer(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`bad AML integer ${value}`);
  if (value === 0) return [AmlOp.ZERO];
  if (value === 1) return [AmlOp.ONE];
  if (value <= 0xff) return [AmlOp.BYTE_PREFIX, value];
  if (value <= 0xffff) return [AmlOp.WORD_PREFIX, value & 0xff, value >>> 8];
  return [AmlOp.DWORD_PREFIX, ...le32(value)];
}

/** DefName: Name(path, object). */
export function name(path: string, object: number[]): number[] {
  return [AmlOp.NAME, ...nameString(path), ...object];
}

/** DefScope: Scope(path) { terms }. */
export function scope(path: string, terms: number[]): number[] {
  const body = [...nameString(path), ...terms];
  return [AmlOp.SCOPE, ...pkgLength(body.length), ...body];
}

/** DefDevice: Device(path) { terms }. */
export function device(path: string, terms: number[]): number[] {
  const body = [...nameString(path), ...terms];
  return [AmlOp.EXT_OP_PREFIX, AmlOp.DEVICE, ...pkgLength(body.length), ...body];
}

/** DefPackage: Package(n) { elements }, each element already encoded. */
export function pkg(elements: number[][]): number[] {
  if (elements.length > 0xff) throw new RangeError('an AML Package holds at most 255 elements');
  const body = [elements.length, ...elements.flat()];
  return [AmlOp.PACKAGE, ...pkgLength(body.length), ...body];
}

/** DefBuffer: Buffer(n) { bytes }. */
export function buffer(bytes: number[]): number[] {
  const body = [...integer(bytes.length), ...bytes];
  return [AmlOp.BUFFER, ...pkgLength(body.length), ...body];
}

/**
 * A compressed EISA id (§6.1.5 _HID), e.g. "PNP0A03": three letters of five bits each (A = 1)
 * and four hex digits, stored big-endian in a DWord.
 */
export function eisaId(id: string): number {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new RangeError(`"${id}" is not an EISA id`);
  const l = (i: number) => id.charCodeAt(i) - 0x40;
  const vendor = (l(0) << 10) | (l(1) << 5) | l(2);
  const product = parseInt(id.slice(3), 16);
  return ((vendor >>> 8) | ((vendor & 0xff) << 8) | ((product >>> 8) << 16) | ((product & 0xff) << 24)) >>> 0;
}

/** Address space descriptor resource types (§6.4.3.5.x, byte 3). */
export const enum AddressSpace {
  MEMORY = 0,
  IO = 1,
  BUS_NUMBER = 2,
}

/**
 * General flags of an address space descriptor a bridge produces: the minimum and maximum are
 * fixed (_MIF, _MAF) and it decodes positively; bit 0 clear means "produces and consumes".
 */
const PRODUCER_FIXED = 0x0c;
/** I/O type-specific flag _RNG = 3: ISA and non-ISA ranges. */
export const IO_ENTIRE_RANGE = 0x03;
/** Memory type-specific flags: _RW = 1 (read/write), _MEM = 0 (non-cacheable) or 1 (cacheable). */
export const MEM_NONCACHEABLE_RW = 0x01;
export const MEM_CACHEABLE_RW = 0x03;

/** Word Address Space Descriptor (§6.4.3.5.3): large item 0x88, 13 bytes of data. */
export function wordAddressSpace(type: AddressSpace, typeFlags: number, min: number, max: number): number[] {
  if (min > max || max > 0xffff) throw new RangeError(`bad word address range ${min}-${max}`);
  return [
    0x88,
    13,
    0,
    type,
    PRODUCER_FIXED,
    typeFlags,
    ...le16(0),
    ...le16(min),
    ...le16(max),
    ...le16(0),
    ...le16(max - min + 1),
  ];
}

/** DWord Address Space Descriptor (§6.4.3.5.2): large item 0x87, 23 bytes of data. */
export function dwordAddressSpace(type: AddressSpace, typeFlags: number, min: number, max: number): number[] {
  if (min > max || max > 0xffffffff) throw new RangeError(`bad dword address range ${min}-${max}`);
  return [
    0x87,
    23,
    0,
    type,
    PRODUCER_FIXED,
    typeFlags,
    ...le32(0),
    ...le32(min),
    ...le32(max),
    ...le32(0),
    ...le32(max - min + 1),
  ];
}

/** End Tag (§6.4.2.9): small item 0x79 with a zero checksum (meaning "treat as correct"). */
export const END_TAG = [0x79, 0x00];

export function le16(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}

export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
