export * from './contract-versions.ts';
export * from './tokens.ts';
