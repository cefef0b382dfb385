export const version = 'x86';
