export * from './decoder/index.js';
export * from './disasm/index.js';
export * from './generated/index.js';
export * from './sbe/index.js';
