export { CodeAttr, FlowControl, flowControl } from './attributes.js';
export { DecodeStatus, MAX_INSTRUCTION_LENGTH, type Bitness } from './decode-status.js';
export type { InstructionDecoder } from './decoder-api.js';
export { Instruction } from './instruction.js';
export { MemorySize, memorySizeBytes } from './memory-size.js';
export { OpKind, isMemoryKind } from './op-kind.js';
export { Prefix } from './prefixes.js';
export { Register, REGISTER_COUNT, registerBits, registerName } from './register.js';
