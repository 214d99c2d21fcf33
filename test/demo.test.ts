import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { content } from './support/http-server.js';

test('npm run demo runs to completion: retried failure, progress, the file and its hash', async () => {
  const root = path.resolve(import.meta.dirname, '..');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'demo/run.ts'], { cwd: root });
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toBe("Downloading through rx-bits' portable engine (BITS is a Windows service; this process runs on 'linux'),");
  expect(lines[1]).toMatch(/file server on 127\.0\.0\.1/);
  expect(stdout).not.toMatch(/simulated/);
  expect(stdout).toMatch(/Failed with BG_E_HTTP_ERROR_503 \(The server answered HTTP 503\.\): retrying\./);
  expect(stdout).toMatch(/^100% 4\.0 MiB of 4\.0 MiB/m);
  const done = /^Done: (.+) \(S_OK\), sha256 ([0-9a-f]{64})$/m.exec(stdout);
  expect(done?.[2]).toBe(createHash('sha256').update(content(4 * 1024 * 1024)).digest('hex'));
  await rm(path.dirname(done![1]!), { recursive: true, force: true });
});
