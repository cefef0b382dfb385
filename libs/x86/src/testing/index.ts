export { ElfError, elfSection, elfSections, type ElfSection } from './elf.js';
