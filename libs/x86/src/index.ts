export * from './decoder/index.js';
