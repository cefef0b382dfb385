export { buildTables, NODE_FLAG, NODE_KIND, type BuiltTables, type CodeDef } from './build.js';
export { emitSources, BANNER } from './emit.js';
export {
  buildFromIsa,
  checkGenerated,
  defaultPaths,
  generateSources,
  loadEnums,
  writeGenerated,
  type GeneratorPaths,
} from './generate.js';
export { OPERAND_KIND, resolveOperand, type OperandTemplate, type RuntimeEnums } from './operands.js';
export { IsaError, parseRow, parseSections, type ParsedRow } from './parse.js';
