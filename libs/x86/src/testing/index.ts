export { ElfError, elfSection, elfSections, type ElfSection } from './elf.js';
export { parseVectors, VectorError, type DecoderVector } from './vector-parser.js';
export { checkAttributes, describeForVector, featureName, formatOperand } from './vector-format.js';
export { xorshift32 } from './random.js';
