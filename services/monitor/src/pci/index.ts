export * from './pci-function.js';
export * from './chipset.js';
export * from './pci-bus.js';
export * from './pir-table.js';
