export * from './pm.js';
export * from './tables.js';
