export * from './contract-versions.ts';
export * from './tokens.ts';
export * from './matrix-versions.ts';
export * from './change-control.ts';
export * from './runtime.ts';
export * from './sessions.ts';
export * from './coordination.ts';
