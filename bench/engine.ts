/**
 * The portable engine's rows of `npm run bench` (rows 10-13): a large download from 127.0.0.1 through
 * the engine (createJob, resume, transferred$, complete) against a bare streamed download of the same
 * URL to disk (undici `request` piped with `stream.pipeline` into `fs.createWriteStream`: the floor for
 * what the engine does), in the same run, the two sides alternating.
 *
 * The HTTP server runs in a child process: in this one, its own work (1 GiB written through a socket)
 * would land on the event loop and in process.cpuUsage() of the side being measured, and be counted
 * as the engine's (or the bare download's) CPU time and event-loop delay.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { firstValueFrom, map, merge } from 'rxjs';
import { Agent, request } from 'undici';
import { connect, error$, transferred$ } from '../src/index.js';
import { ENGINE_DEFAULTS, PortableEngine } from '../src/engine/engine.js';
import { closeTransferDispatchers } from '../src/engine/transfer.js';

export interface Row {
  readonly metric: string;
  readonly ours: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly target: string;
  readonly met: boolean | undefined;
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));
const mib = (bytes: number) => fmt(bytes / MiB, 1);
const sizeLabel = (bytes: number) => (bytes >= GiB ? `${fmt(bytes / GiB, bytes % GiB === 0 ? 0 : 2)} GiB` : `${fmt(bytes / MiB, 0)} MiB`);

/** The file server: `GET /file?size=N` answers N bytes (a pre-filled 1 MiB buffer written again and again, with back-pressure), with an ETag and `Range: bytes=N-`. */
const SERVER = `
  const http = require('node:http');
  const MiB = 1 << 20;
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i++) block[i] = (i * 31 + 7) & 0xff;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const size = Number(url.searchParams.get('size'));
    if (url.pathname !== '/file' || !Number.isSafeInteger(size) || size < 0) return res.writeHead(404).end();
    const etag = '"bench-' + size + '"';
    const range = /^bytes=(\\d+)-$/.exec(req.headers.range || '');
    const ifRange = req.headers['if-range'];
    let offset = range !== null && (ifRange === undefined || ifRange === etag) && Number(range[1]) < size ? Number(range[1]) : 0;
    const headers = { 'content-type': 'application/octet-stream', 'content-length': size - offset, etag, 'accept-ranges': 'bytes' };
    if (offset > 0) headers['content-range'] = 'bytes ' + offset + '-' + (size - 1) + '/' + size;
    res.writeHead(offset > 0 ? 206 : 200, headers);
    const pump = () => {
      while (offset < size) {
        const at = offset % MiB;
        const chunk = block.subarray(at, Math.min(MiB, at + size - offset));
        offset += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => { offset = size; });
    pump();
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
  process.on('disconnect', () => process.exit(0));`;

export async function startServer(): Promise<{ url: (size: number) => string; close: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve(message as number));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the bench file server exited (${code})`)));
  });
  return {
    url: (size) => `http://127.0.0.1:${port}/file?size=${size}`,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

/** What one download cost, measured the same way on both sides. */
interface Measured {
  readonly ms: number;
  readonly cpuMs: number;
  /** Peaks during the download minus the figures just before it (after a full GC); 0 when not sampled. */
  readonly rssGrowth: number;
  readonly heapGrowth: number;
}

/**
 * How a run is watched. 'timed': nothing but the clock and process.cpuUsage() (throughput and CPU
 * runs). 'raw': process.memoryUsage() every 10 ms, peaks as they come (garbage included, so the
 * heap+external peak depends on when V8 collects). A histogram, if given, is enabled for the run only.
 * (Sampling after a forced GC instead was tried: external memory is released by V8's concurrent
 * sweeper after the GC returns, so those figures were no steadier, the bare download's included.)
 */
type Watch = { readonly memory: 'timed' | 'raw'; readonly histogram?: IntervalHistogram };

async function measure(download: () => Promise<void>, watch: Watch): Promise<Measured> {
  gc();
  const before = process.memoryUsage();
  const peak = { rss: before.rss, heap: before.heapUsed + before.external };
  const sample = () => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.heap = Math.max(peak.heap, now.heapUsed + now.external);
  };
  const sampler = watch.memory === 'timed' ? undefined : setInterval(sample, 10);
  watch.histogram?.enable();
  const cpu = process.cpuUsage();
  const start = performance.now();
  try {
    await download();
  } finally {
    watch.histogram?.disable();
    clearInterval(sampler);
  }
  const ms = performance.now() - start;
  const { user, system } = process.cpuUsage(cpu);
  if (sampler !== undefined) sample();
  return { ms, cpuMs: (user + system) / 1000, rssGrowth: peak.rss - before.rss, heapGrowth: peak.heap - (before.heapUsed + before.external) };
}

/** The floor: one GET, its body piped into a file, on a dispatcher of its own as the engine's route has. */
async function bareDownload(url: string, file: string, size: number): Promise<void> {
  const dispatcher = new Agent();
  try {
    const { statusCode, body } = await request(url, { dispatcher });
    if (statusCode !== 200) throw new Error(`bare download: HTTP ${statusCode}`);
    await pipeline(body, createWriteStream(file));
  } finally {
    await dispatcher.close();
  }
  const { size: written } = await stat(file);
  if (written !== size) throw new Error(`bare download wrote ${written} of ${size} bytes`);
}

/** Ours: a job on a fresh engine (its own state directory), from createJob to Complete having put the file at its name. */
async function engineDownload(url: string, dir: string, file: string, size: number, measuring: (run: () => Promise<void>) => Promise<Measured>): Promise<Measured> {
  const engine = await PortableEngine.open(path.join(dir, `state-${path.basename(file)}`), ENGINE_DEFAULTS);
  const bits = await connect({ backend: 'portable', runtime: engine.runtime });
  try {
    const measured = await measuring(async () => {
      const job = await bits.createJob({ displayName: 'bench', files: [{ url, localPath: file }] });
      const done = firstValueFrom(
        merge(
          transferred$(job),
          error$(job).pipe(
            map((event) => {
              throw new Error(`engine download failed: ${JSON.stringify(event)}`);
            }),
          ),
        ),
      );
      await job.resume();
      await done;
      await job.complete();
      await job.release();
    });
    const { size: written } = await stat(file);
    if (written !== size) throw new Error(`the engine wrote ${written} of ${size} bytes`);
    return measured;
  } finally {
    await bits.release();
    await engine.close();
  }
}

/** The largest size up to `wanted` (halving, not under 64 MiB) that leaves `margin` free in `dir`; undefined when even 64 MiB does not fit. */
async function sizeThatFits(dir: string, wanted: number, margin: number): Promise<{ size: number | undefined; free: number }> {
  const { bavail, bsize } = await statfs(dir);
  const free = bavail * bsize;
  for (let size = wanted; size >= 64 * MiB; size /= 2) if (size + margin <= free) return { size, free };
  return { size: undefined, free };
}

export async function engineRows(): Promise<Row[]> {
  const rows: Row[] = [];
  const wanted = Number(process.env['RX_BITS_BENCH_ENGINE_MIB'] ?? 1024) * MiB;
  const small = 64 * MiB;
  const margin = 2 * GiB;
  const { size, free } = await sizeThatFits(os.tmpdir(), wanted, margin);
  if (size === undefined) {
    console.log(`engine rows skipped: ${mib(free)} MiB free in ${os.tmpdir()}, not enough for 64 MiB and a ${mib(margin)} MiB margin`);
    return rows;
  }
  if (size < wanted) console.log(`engine rows: ${mib(free)} MiB free in ${os.tmpdir()}; downloads scaled down from ${sizeLabel(wanted)} to ${sizeLabel(size)} (keeping ${mib(margin)} MiB free)`);
  const big = size;
  const server = await startServer();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rx-bits-bench-engine-'));
  let n = 0;
  const target = () => path.join(dir, `f${++n}.bin`);
  const bare = async (bytes: number, watch: Watch) => {
    const file = target();
    try {
      return await measure(() => bareDownload(server.url(bytes), file, bytes), watch);
    } finally {
      await rm(file, { force: true });
    }
  };
  const ours = async (bytes: number, watch: Watch) => {
    const file = target();
    try {
      return await engineDownload(server.url(bytes), dir, file, bytes, (run) => measure(run, watch));
    } finally {
      await rm(file, { force: true });
    }
  };
  const timed: Watch = { memory: 'timed' };
  try {
    // Warm-up, not measured: JIT, the first dispatcher and socket, allocator arenas.
    await bare(small, timed);
    await ours(small, timed);

    // Throughput and CPU: three pairs, the order alternating within each, with nothing else watching
    // (a 1 ms timer and a memory sampler would add wake-ups to both sides).
    const timedBare: Measured[] = [];
    const timedOurs: Measured[] = [];
    for (let pair = 0; pair < 3; pair++) {
      for (const side of pair % 2 === 0 ? (['bare', 'ours'] as const) : (['ours', 'bare'] as const)) {
        if (side === 'bare') timedBare.push(await bare(big, timed));
        else timedOurs.push(await ours(big, timed));
      }
    }

    // Memory as it comes and event-loop delay: the engine at 64 MiB (twice) and at the big size, the
    // bare download at the big size (for reference), then idle for as long as the engine took.
    const rawSmall = [await ours(small, { memory: 'raw' }), await ours(small, { memory: 'raw' })];
    const engineDelay = monitorEventLoopDelay({ resolution: 1 });
    const bareDelay = monitorEventLoopDelay({ resolution: 1 });
    const idleDelay = monitorEventLoopDelay({ resolution: 1 });
    const rawBig = await ours(big, { memory: 'raw', histogram: engineDelay });
    const rawBare = await bare(big, { memory: 'raw', histogram: bareDelay });
    await measure(() => new Promise((resolve) => setTimeout(resolve, rawBig.ms)), { memory: 'raw', histogram: idleDelay });

    // 10. Throughput: the best run of each side (noise only ever slows a run down).
    const rate = (run: Measured) => big / MiB / (run.ms / 1000);
    const best = (runs: Measured[]) => Math.max(...runs.map(rate));
    const [oursRate, bareRate] = [best(timedOurs), best(timedBare)];
    const all = (runs: Measured[]) => runs.map((run) => fmt(rate(run), 0)).join(', ');
    rows.push({
      metric: `10. engine: ${sizeLabel(big)} from 127.0.0.1, MiB/s, best of 3 (runs)`,
      ours: `${fmt(oursRate, 0)} (${all(timedOurs)})`,
      baseline: `${fmt(bareRate, 0)} (${all(timedBare)}) bare undici -> file`,
      ratio: fmt(oursRate / bareRate, 2),
      target: '>= 0.9',
      met: oursRate / bareRate >= 0.9,
    });

    // 11. Memory growth, 64 MiB against the big size (the worse of the two 64 MiB runs).
    const memoryRow = (label: string, key: 'rssGrowth' | 'heapGrowth', atBig: Measured, atSmall: Measured[], bareRun: Measured, slack: number | undefined) => {
      const [grown, small64] = [atBig[key], Math.max(...atSmall.map((run) => run[key]))];
      rows.push({
        metric: `11. engine: ${label} growth, ${sizeLabel(big)} vs 64 MiB (MiB)`,
        ours: mib(grown),
        baseline: `${mib(small64)} at 64 MiB (bare ${sizeLabel(big)}: ${mib(bareRun[key])})`,
        ratio: `${grown - small64 >= 0 ? '+' : ''}${mib(grown - small64)} MiB`,
        target: slack === undefined ? '-' : `<= 64 MiB's + ${mib(slack)}`,
        met: slack === undefined ? undefined : grown <= small64 + slack,
      });
    };
    memoryRow('peak RSS', 'rssGrowth', rawBig, rawSmall, rawBare, 16 * MiB);
    memoryRow('peak heap+external', 'heapGrowth', rawBig, rawSmall, rawBare, 64 * MiB); // V8 collects once external memory grew by 64 MiB

    // 12. CPU time per GiB, user + system, every thread of this process (libuv's pool writes the file).
    const cpuPerGiB = (runs: Measured[]) => Math.min(...runs.map((run) => run.cpuMs)) / (big / GiB);
    const [oursCpu, bareCpu] = [cpuPerGiB(timedOurs), cpuPerGiB(timedBare)];
    rows.push({
      metric: '12. engine: CPU time per GiB, user+system (ms, least of 3)',
      ours: fmt(oursCpu, 0),
      baseline: `${fmt(bareCpu, 0)} bare undici -> file`,
      ratio: fmt(oursCpu / bareCpu, 2),
      target: '<= 1.5',
      met: oursCpu / bareCpu <= 1.5,
    });

    // 13. Event-loop delay while the engine downloads, against idle for as long (and the bare download, for reference).
    const ms = (histogram: IntervalHistogram, p: number) => histogram.percentile(p) / 1e6;
    const p50p99 = (histogram: IntervalHistogram) => `${fmt(ms(histogram, 50), 2)} / ${fmt(ms(histogram, 99), 2)}`;
    rows.push({
      metric: `13. engine: event-loop delay during ${sizeLabel(big)}, p50 / p99 (ms, 1 ms timer)`,
      ours: p50p99(engineDelay),
      baseline: `${p50p99(idleDelay)} idle (bare: ${p50p99(bareDelay)})`,
      ratio: `p99 ${ms(engineDelay, 99) >= ms(idleDelay, 99) ? '+' : ''}${fmt(ms(engineDelay, 99) - ms(idleDelay, 99), 2)} ms`,
      target: 'p99 <= idle + 10 ms',
      met: ms(engineDelay, 99) <= ms(idleDelay, 99) + 10,
    });
  } finally {
    await closeTransferDispatchers();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}
