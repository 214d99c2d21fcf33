import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
let app: string;
let scratch: string;

/** Packs the library as npm would publish it and installs the tarball into an empty project. */
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'rx-bits-pack-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root });
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  app = path.join(scratch, 'app');
  await mkdir(app);
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(scratch, filename), 'rxjs@^7.8.0', '@types/node@^20'], { cwd: app });
}, 300_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const PROBE = `
  const bits = lib;
  const ok = typeof bits.connect === 'function' && bits.labelHresult(0x80200001) === 'BG_E_NOT_FOUND (0x80200001)';
  console.log(ok ? 'ok' : 'broken');
`;

test('require() loads the CommonJS build', async () => {
  const { stdout } = await run(process.execPath, ['-e', `const lib = require('rx-bits'); ${PROBE}`], { cwd: app });
  expect(stdout.trim()).toBe('ok');
});

test('import loads the ESM build', async () => {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `import * as lib from 'rx-bits'; ${PROBE}`], { cwd: app });
  expect(stdout.trim()).toBe('ok');
});

test('loaded both ways in one process, it is one copy: the same functions and classes, one hub registry', async () => {
  const script = `
    const required = require('rx-bits');
    import('rx-bits').then((imported) => {
      const names = Object.keys(imported).filter((name) => name !== 'default');
      const same = names.every((name) => imported[name] === required[name]);
      const all = Object.keys(required).filter((name) => name !== '__esModule').length === names.length;
      console.log(same && all && imported.whenHubsIdle === required.whenHubsIdle && imported.ComError === required.ComError ? 'one copy' : 'two copies');
    });
  `;
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: app });
  expect(stdout.trim()).toBe('one copy');
});

test("the package's bin runs the CLI (npx rx-bits)", async () => {
  const { stdout } = await run(path.join(app, 'node_modules', '.bin', 'rx-bits'), ['--help'], { cwd: app });
  expect(stdout).toMatch(/^Usage: rx-bits <command>/);
});

test('both builds type-check from a consumer (node16 resolution, CJS and ESM files)', async () => {
  await writeFile(path.join(app, 'use.cts'), "import { connect, type BitsJob } from 'rx-bits';\nexport const c: typeof connect = connect;\nexport type J = BitsJob;\n");
  await writeFile(path.join(app, 'use.mts'), "import { connect, type BitsJob } from 'rx-bits';\nexport const c: typeof connect = connect;\nexport type J = BitsJob;\n");
  await writeFile(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, target: 'es2022', lib: ['es2022', 'esnext.disposable'], types: ['node'] }, files: ['use.cts', 'use.mts'] }),
  );
  await run(process.execPath, [tsc, '-p', '.'], { cwd: app });
});
