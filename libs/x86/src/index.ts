export * from './decoder/index.js';
export * from './generated/index.js';
