export * from './pci-transport.js';
export * from './virtqueue.js';
export { VirtioBlock, type VirtioBlockOptions, type WorkTracker } from './block.js';
export { VirtioConsole, serveVirtioConsoleInput, type VirtioConsoleOptions } from './console.js';
export { VirtioNet, VirtioNetStats, type NetLink, type VirtioNetOptions } from './net.js';
export * from './attach.js';
