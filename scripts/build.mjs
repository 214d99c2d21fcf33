// Builds the two flavours the `exports` map promises: ESM for `import`, CommonJS for `require`
// (Electron main processes are often CommonJS). Plain tsc twice: no bundler, nothing to configure,
// and the .d.ts files come from the same compiler that type-checks the tests.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
for (const project of ['tsconfig.build.json', 'tsconfig.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
}
// The package is "type": "module"; this marker makes Node (and TypeScript) read dist/cjs as CommonJS.
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
