// Builds what the `exports` map promises: `require` gets the CommonJS build (Electron main processes
// are often CommonJS), and `import` gets a thin ES module over that same build. One copy of the code
// per process, however it is loaded: two copies would keep two job-hub registries, and since BITS
// holds one notify interface per job (last writer wins), each would take the job's callback from the
// other. Plain tsc: no bundler, and the .d.ts files come from the compiler that type-checks the tests.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
// The package is "type": "module"; this marker makes Node (and TypeScript) read dist/cjs as CommonJS.
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');

// The ES module names every export, so that `import { connect } from 'rx-bits'` is checked by Node
// at link time rather than left to its guess at the CommonJS exports.
const names = Object.keys(require(path.resolve('dist/cjs/index.js'))).filter((name) => name !== '__esModule').sort();
mkdirSync('dist/esm', { recursive: true });
writeFileSync(
  'dist/esm/index.js',
  `// rx-bits as an ES module: the CommonJS build, re-exported, so the process has one copy of it.\n` +
    `import rxBits from '../cjs/index.js';\n\n` +
    `export const {\n${names.map((name) => `  ${name},`).join('\n')}\n} = rxBits;\n`,
);
writeFileSync('dist/esm/index.d.ts', `export * from '../cjs/index.js';\n`);
