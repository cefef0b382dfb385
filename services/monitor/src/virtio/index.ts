export * from './pci-transport.js';
export * from './virtqueue.js';
export { VirtioBlock, type VirtioBlockOptions, type WorkTracker } from './block.js';
export { VirtioConsole, serveConsoleInput, type VirtioConsoleOptions } from './console.js';
export * from './attach.js';
