import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * How to start one of the library's worker threads (call threads, the receiver) however the library
 * was loaded: the CommonJS build (dist), an ES module (tsx), or vitest's module runner.
 */

/**
 * This module's own file. `import.meta` cannot appear in the CommonJS build and `__dirname` does not
 * exist in an ES module, so V8 is asked which file defined this function.
 */
function ownFile(): string {
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_, sites) => sites;
    const sites = new Error().stack as unknown as NodeJS.CallSite[];
    const file = sites[0]?.getFileName();
    if (file === undefined || file === null) throw new Error('worker-source: cannot locate its own file');
    return file.startsWith('file:') ? fileURLToPath(file) : file;
  } finally {
    Error.prepareStackTrace = original;
  }
}

/** What `new Worker(source, { eval })` needs. */
export interface WorkerSource {
  readonly source: string;
  readonly eval: boolean;
}

/**
 * The worker entry `name` beside this file: JavaScript in the package. From this repository's
 * TypeScript sources (tests, bench, demo) the worker needs a TypeScript loader of its own, and
 * Node 20 runs no `--import` in a worker's execArgv: a small bootstrap registers tsx (resolved from
 * the working directory, this repository) before it imports the entry.
 */
export function workerSource(name: string): WorkerSource {
  const here = ownFile();
  const extension = path.extname(here);
  const file = path.join(path.dirname(here), `${name}${extension}`);
  if (extension !== '.ts') return { source: file, eval: false };
  const url = JSON.stringify(pathToFileURL(file).href);
  return { source: `import('tsx/esm/api').then(({ register }) => { register(); return import(${url}); });`, eval: true };
}
