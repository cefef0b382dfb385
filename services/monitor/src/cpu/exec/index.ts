// Importing the handler modules fills the dispatch table.
import './arith.js';
import './stack.js';
import './control.js';
import './string.js';
import './io.js';
import './system.js';
import './x87.js';

export { HANDLERS, isImplemented, type Handler } from './table.js';
