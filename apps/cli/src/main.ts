#!/usr/bin/env node
import { reportError } from './output.js';
import { buildProgram } from './program.js';

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error, program.opts<{ json?: boolean }>().json ?? false);
}
