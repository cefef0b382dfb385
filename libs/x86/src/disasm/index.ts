export { disassemble, formatLine, type DisassemblyLine } from './disassemble.js';
export { formatIntel, WAIT_FORMS } from './format-intel.js';
