#!/usr/bin/env node
import { main } from './main.js';

// Ctrl-C once: the CLI leaves the job in the service and says how to pick it up.
const interrupted = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
void main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, interrupted }).then((code) => {
  process.exitCode = code;
});
