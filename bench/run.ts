/**
 * `npm run bench`: what rx-bits costs, measured side by side with a baseline in the same run (so a
 * noisy machine moves both), on the loopback BITS service, and the portable engine against a bare
 * download (bench/engine.ts). Prints one table of ratios. Never a test: no assertion here fails a build.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import koffi from 'koffi';
import { firstValueFrom, type Subscription } from 'rxjs';
import { Bench } from 'tinybench';
import { Worker } from 'node:worker_threads';
import { Subject } from 'rxjs';
import { ComClass } from '../src/com/com-object.js';
import { S_OK } from '../src/com/hresult.js';
import { CallbackObject, callbackTrampolines } from '../src/com/callback-object.js';
import type { ComMethod } from '../src/com/interface-table.js';
import { IBackgroundCopyCallback2, IUnknown } from '../src/com/interfaces.js';
import { invokeAsync } from '../src/com/invoke.js';
import { POINTER_SIZE, type Pointer } from '../src/com/native-types.js';
import { connect, jobEvents$, liveCallbackObjects, referenceStats, transferred$, whenHubsIdle, type BitsJob } from '../src/index.js';
import { LoopbackService } from '../test/loopback/service.js';
import { startTestServer } from '../test/support/http-server.js';
import { IHang, startHangs } from '../test/threads-hang.js';
import { engineRows, type Row } from './engine.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** `npm run bench -- --only 9,10`: only the sections of those rows, to measure one change quickly. */
const only = ((at) => (at < 0 ? undefined : new Set((process.argv[at + 1] ?? '').split(',').map(Number))))(process.argv.indexOf('--only'));
const wanted = (...sections: number[]): boolean => only === undefined || sections.some((section) => only.has(section));

const rows: Row[] = [];
// 10-13, the portable engine, run first (a fresh process: its memory and CPU figures see nothing of
// the sections below), printed last.
const engine = wanted(10, 11, 12, 13) ? await engineRows() : [];
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const memory = () => {
  gc();
  const { heapUsed, external, rss } = process.memoryUsage();
  return { heap: heapUsed + external, rss };
};

const JobTransferred = IBackgroundCopyCallback2.method('JobTransferred');
const service = new LoopbackService();
const server = await startTestServer();
const bits = await connect({ runtime: service.runtime });

/** The floor: a bare koffi registered callback behind a one-slot vtable, called the way a service calls ours. */
const floorCallback = koffi.register(() => 0, koffi.pointer(JobTransferred.proto));
const floorVtable = koffi.alloc('void *', 7) as Pointer;
koffi.encode(floorVtable, JobTransferred.slot * POINTER_SIZE, 'void *', floorCallback);
const floorObject = koffi.alloc('void *', 2) as Pointer;
koffi.encode(floorObject, 0, 'void *', floorVtable);

/** A job with `subscribers` transferred$ subscriptions, attached; resolves each time all of them heard. */
async function watchedJob(subscribers: number) {
  const job = await bits.createJob({ displayName: 'bench' });
  let heard = 0;
  let wake: () => void = () => undefined;
  const subscriptions: Subscription[] = Array.from({ length: subscribers }, () =>
    transferred$(job).subscribe(() => {
      if (++heard === subscribers) wake();
    }),
  );
  await whenHubsIdle();
  const target = service.notifyTarget(job.id);
  if (target === undefined) throw new Error('hub did not attach');
  return {
    address: target.address,
    allHeard: new Promise<void>((resolve) => (wake = resolve)),
    async dispose(): Promise<void> {
      for (const subscription of subscriptions) subscription.unsubscribe();
      await whenHubsIdle();
      await job.cancel();
      await job.release();
    },
  };
}

// 1-3. Per-event cost, service-thread hold time, fan-out: a JobTransferred from a worker thread to
// the subscribers, against the same call into the bare callback.
if (wanted(1, 2, 3)) {
  const holds = { ours: [] as number[], floor: [] as number[] };
  /** Until the subscriber heard (ours) or the call returned (the floor's whole work). */
  const delivered: number[] = [];
  const bench = new Bench({ iterations: 300, time: 0, warmupIterations: 30 });
  let current: Awaited<ReturnType<typeof watchedJob>> | undefined;
  const fanOut = [1, 10, 100];
  for (const subscribers of fanOut) {
    bench.add(
      `rx-bits, ${subscribers} subscriber(s)`,
      async () => {
        const start = bench.now();
        await invokeAsync(current!.address, JobTransferred, null);
        await current!.allHeard;
        return { overriddenDuration: bench.now() - start };
      },
      {
        beforeEach: async () => {
          current = await watchedJob(subscribers);
        },
        afterEach: async () => {
          await current!.dispose();
        },
      },
    );
  }
  await bench.run();
  // Per event and hold times, interleaved call by call (order alternating), so both sides see the
  // same machine: run one after the other, a drift in its load between them passed for a cost.
  for (let i = 0; i < 1000; i++) {
    const watched = await watchedJob(1);
    for (const side of i % 2 === 0 ? (['ours', 'floor'] as const) : (['floor', 'ours'] as const)) {
      const start = performance.now();
      await invokeAsync(side === 'ours' ? watched.address : floorObject, JobTransferred, null);
      holds[side].push(performance.now() - start);
      if (side === 'ours') {
        await watched.allHeard;
        delivered.push(performance.now() - start);
      }
    }
    await watched.dispose();
  }
  const mean = (name: string) => {
    const { result } = bench.getTask(name)!;
    if (!('latency' in result)) throw new Error(`${name} did not complete`);
    return result.latency.mean;
  };
  const ours = mean('rx-bits, 1 subscriber(s)');
  const [perEvent, floor] = [percentile(delivered, 50), percentile(holds.floor, 50)];
  rows.push({
    metric: '1. per event, worker thread -> subscriber, p50 (µs)',
    ours: `${fmt(perEvent * 1000)} (${fmt(1000 / perEvent, 0)}/s)`,
    baseline: `${fmt(floor * 1000)} (${fmt(1000 / floor, 0)}/s)`,
    ratio: fmt(perEvent / floor, 2),
    target: '<= 1.2',
    met: perEvent / floor <= 1.2,
  });
  const [p50, p99, f50, f99] = [percentile(holds.ours, 50), percentile(holds.ours, 99), percentile(holds.floor, 50), percentile(holds.floor, 99)];
  rows.push({
    metric: '2. service thread held per callback, p50 / p99 (µs)',
    ours: `${fmt(p50 * 1000)} / ${fmt(p99 * 1000)}`,
    baseline: `${fmt(f50 * 1000)} / ${fmt(f99 * 1000)}`,
    ratio: `${fmt(p50 / f50, 2)} / ${fmt(p99 / f99, 2)}`,
    target: 'p99 <= 1.1',
    met: p99 / f99 <= 1.1,
  });
  for (const subscribers of fanOut) {
    const perSubscriber = mean(`rx-bits, ${subscribers} subscriber(s)`) / subscribers;
    rows.push({
      metric: `3. fan-out ${subscribers}: per event per subscriber (µs)`,
      ours: fmt(perSubscriber * 1000),
      baseline: fmt(ours * 1000),
      ratio: fmt(perSubscriber / ours, 2),
      target: 'falls with fan-out',
      met: undefined,
    });
  }
}

// 4. Noticing completion: the callback against polling GetState every 100 ms and every 1 s.
if (wanted(4)) {
  const samples = 5;
  const noticed = async (notice: (job: BitsJob) => Promise<number>): Promise<number[]> =>
    Promise.all(
      Array.from({ length: samples }, async (_, i) => {
        const job = await bits.createJob({ displayName: 'notice', files: [{ url: server.url(`/slow/n${i}?size=${20_000 + i * 7_000}&chunk=1000&delay=10`), localPath: `${os.tmpdir()}/rx-bits-bench-${process.pid}-${i}-${Math.random()}` }] });
        const at = await notice(job);
        const lag = at - service.job(job.id)!.transferredAt!;
        await job.cancel();
        await job.release();
        return lag;
      }),
    );
  const polling = (interval: number) => async (job: BitsJob) => {
    await job.resume();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, interval));
      if ((await job.getState()) === 'transferred') return performance.now();
    }
  };
  const getStateBefore = { value: 0 };
  const viaCallback = await noticed(async (job) => {
    const event = firstValueFrom(transferred$(job));
    await whenHubsIdle();
    getStateBefore.value = service.calls('IBackgroundCopyJob::GetState');
    await job.resume();
    await event;
    return performance.now();
  });
  const getStateWhileWatching = service.calls('IBackgroundCopyJob::GetState') - getStateBefore.value;
  const [fast, slow] = await Promise.all([noticed(polling(100)), noticed(polling(1000))]);
  const avg = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const [cb, p100, p1000] = [avg(viaCallback), avg(fast), avg(slow)];
  rows.push({ metric: '4. completion noticed after (ms), vs polling 100 ms', ours: fmt(cb, 2), baseline: fmt(p100, 1), ratio: `${fmt(p100 / cb, 0)}x sooner`, target: '-', met: undefined });
  rows.push({ metric: '4. completion noticed after (ms), vs polling 1 s', ours: fmt(cb, 2), baseline: fmt(p1000, 1), ratio: `${fmt(p1000 / cb, 0)}x sooner`, target: '>= 100x', met: p1000 / cb >= 100 });
  rows.push({ metric: '4. GetState calls while only transferred$ is observed', ours: String(getStateWhileWatching), baseline: '-', ratio: '-', target: '0', met: getStateWhileWatching === 0 });
}

// 5. Churn.
if (wanted(5)) {
  const job = await bits.createJob({ displayName: 'churn' });
  const flagsBefore = service.calls('IBackgroundCopyJob::SetNotifyFlags');
  const many = Array.from({ length: 1000 }, (_, i) => jobEvents$(job, i % 2 ? ['transferred'] : ['error']).subscribe());
  await whenHubsIdle();
  const setFlags = service.calls('IBackgroundCopyJob::SetNotifyFlags') - flagsBefore;
  for (const subscription of many) subscription.unsubscribe();
  await whenHubsIdle();
  rows.push({ metric: '5. SetNotifyFlags calls for 1,000 subscriptions in one tick', ours: String(setFlags), baseline: '-', ratio: '-', target: '1', met: setFlags === 1 });

  const keeper = transferred$(job).subscribe();
  await whenHubsIdle();
  const cycles = async (count: number) => {
    for (let batch = 0; batch < count / 1000; batch++) {
      for (let i = 0; i < 1000; i++) jobEvents$(job, ['error', 'modification']).subscribe().unsubscribe();
      await whenHubsIdle();
    }
  };
  await cycles(20_000); // warm-up: JIT code and allocator arenas are not growth
  const before = memory();
  const callbacksBefore = koffi.stats().callbacks;
  await cycles(100_000);
  const after = memory();
  keeper.unsubscribe();
  await whenHubsIdle();
  const heapGrowth = (after.heap - before.heap) / before.heap;
  const rssGrowth = (after.rss - before.rss) / before.rss;
  rows.push({ metric: '5. 100,000 subscribe/unsubscribe: heap growth', ours: `${fmt(heapGrowth * 100, 2)} %`, baseline: '-', ratio: '-', target: '< 5 %', met: heapGrowth < 0.05 });
  rows.push({ metric: '5. 100,000 subscribe/unsubscribe: RSS growth', ours: `${fmt(rssGrowth * 100, 2)} %`, baseline: '-', ratio: '-', target: '< 5 %', met: rssGrowth < 0.05 });
  const callbacksAfter = koffi.stats().callbacks;
  rows.push({
    metric: '5. koffi callbacks: process before / after; rx-bits own',
    ours: `${callbacksBefore} / ${callbacksAfter}; ${callbackTrampolines()}`,
    baseline: '-',
    ratio: '-',
    target: 'constant, <= 8',
    met: callbacksBefore === callbacksAfter && callbackTrampolines() <= 8,
  });
  await job.cancel();
  await job.release();
  rows.push({ metric: '5. live references after', ours: String(referenceStats().live - 1 /* the manager */), baseline: '-', ratio: '-', target: '0', met: referenceStats().live === 1 });
}

// 6. Scale: 10,000 jobs observed at once.
if (wanted(6)) {
  const count = 10_000;
  const jobs = await Promise.all(Array.from({ length: count }, (_, i) => bits.createJob({ displayName: `scale ${i}` })));
  const before = memory();
  const start = performance.now();
  const leaseInterval = 1000;
  const subscriptions = jobs.map((job) => transferred$(job, { leaseInterval }).subscribe());
  await whenHubsIdle();
  const elapsed = performance.now() - start;
  const after = memory();
  const attached = liveCallbackObjects();
  rows.push({ metric: `6. ${count} jobs observed: attach time per job (ms)`, ours: fmt(elapsed / count, 3), baseline: '-', ratio: '-', target: '-', met: attached >= count ? undefined : false });
  rows.push({ metric: `6. ${count} jobs observed: memory per job (KiB, heap+external / RSS)`, ours: `${fmt((after.heap - before.heap) / count / 1024, 2)} / ${fmt((after.rss - before.rss) / count / 1024, 2)}`, baseline: '-', ratio: '-', target: '-', met: undefined });
  // The lease: at most one call per attached job per interval, whatever the number of jobs.
  const calls = () => service.totalCalls();
  const window = 3 * leaseInterval;
  const leaseStart = calls();
  const windowStart = performance.now();
  await new Promise((resolve) => setTimeout(resolve, window));
  const perJobPerInterval = (calls() - leaseStart) / count / ((performance.now() - windowStart) / leaseInterval);
  rows.push({
    metric: `6. ${count} jobs observed: lease calls per job per interval (${leaseInterval} ms)`,
    ours: fmt(perJobPerInterval, 3),
    baseline: '1 (the bound)',
    ratio: fmt(perJobPerInterval, 3),
    target: '<= 1',
    met: perJobPerInterval <= 1,
  });
  for (const subscription of subscriptions) subscription.unsubscribe();
  await whenHubsIdle();
  const idleStart = calls();
  await new Promise((resolve) => setTimeout(resolve, 2 * leaseInterval));
  const idleCalls = calls() - idleStart;
  rows.push({ metric: `6. calls in ${2 * leaseInterval} ms with nothing attached`, ours: String(idleCalls), baseline: '-', ratio: '-', target: '0', met: idleCalls === 0 });
  await Promise.all(jobs.map(async (job) => (await job.cancel(), await job.release())));
}

// 7-8. Call threads against koffi's `.async` on libuv's pool (the design before them), side by side.
if (wanted(7, 8)) {
  const AddRef = IUnknown.method('AddRef');
  /** The old invokeAsync: the method's koffi function, called with `.async` on libuv's pool. */
  const viaLibuv = (self: Pointer, method: ComMethod, ...args: unknown[]) =>
    new Promise<number>((resolve, reject) => {
      const vtable = koffi.decode(self, 'void *') as Pointer;
      const fn = koffi.decode(koffi.decode(vtable, method.slot * POINTER_SIZE, 'void *'), method.proto) as { async: (...a: unknown[]) => void };
      fn.async(self, ...args, (error: unknown, result: number) => (error ? reject(error as Error) : resolve(result)));
    });
  // A method that returns at once without calling back into JS (libc getpid behind a vtable slot): the
  // cost of getting a call to another thread and its result back, and nothing else.
  const bareVtable = koffi.alloc('void *', 3) as Pointer;
  koffi.encode(bareVtable, AddRef.slot * POINTER_SIZE, 'void *', koffi.load('libc.so.6').symbol('getpid'));
  const bareObject = koffi.alloc('void *', 1) as Pointer;
  koffi.encode(bareObject, 0, 'void *', bareVtable);
  // A method implemented in JS (our callback object's AddRef/Release), as the loopback service's are.
  const callback = new CallbackObject(() => undefined);
  const perCall = async (label: string, self: Pointer, method: ComMethod, after?: (self: Pointer) => Promise<unknown>) => {
    const times = { threads: [] as number[], libuv: [] as number[] };
    for (let i = 0; i < 2000; i++) {
      for (const side of i % 2 === 0 ? (['threads', 'libuv'] as const) : (['libuv', 'threads'] as const)) {
        const start = performance.now();
        await (side === 'threads' ? invokeAsync(self, method) : viaLibuv(self, method));
        times[side].push(performance.now() - start);
        await after?.(self);
      }
    }
    const [ours, old] = [percentile(times.threads, 50), percentile(times.libuv, 50)];
    rows.push({ metric: `7. per call, ${label}, p50 (µs)`, ours: fmt(ours * 1000), baseline: `${fmt(old * 1000)} (koffi .async)`, ratio: fmt(ours / old, 2), target: '<= 1.5', met: ours / old <= 1.5 });
  };
  await perCall('native method, no JS', bareObject, AddRef);
  await perCall('JS method relayed (AddRef)', callback.address, AddRef, (self) => invokeAsync(self, IUnknown.method('Release')));
  callback.dispose();
  koffi.free(bareObject);
  koffi.free(bareVtable);

  // 8. fs.readFile while as many service calls hang as libuv has threads, against the same read with
  // nothing hanging: p50 over 5 rounds of 20 reads each while hung, and 20 each after the round (so
  // that both see the machine just after the hang workers' start and end). The old design gets one
  // read per round: it cannot complete until the hung calls are released, after HANG_MS, so its figure
  // is HANG_MS whatever the library does.
  const HANG_MS = 500;
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const read = async () => {
    const start = performance.now();
    await readFile(import.meta.filename);
    return performance.now() - start;
  };
  const reads = { ours: [] as number[], old: [] as number[], idle: [] as number[] };
  const whileHung = async (call: (object: Pointer) => Promise<number>, into: number[], count: number) => {
    const hangs = await startHangs(threads);
    const calls = hangs.objects.map((object) => call(object));
    await hangs.allEntered;
    const timer = setTimeout(() => hangs.release(), HANG_MS);
    for (let i = 0; i < count; i++) into.push(await read());
    clearTimeout(timer);
    hangs.release();
    await Promise.all(calls);
    await hangs.close();
    for (let i = 0; i < 20; i++) reads.idle.push(await read());
  };
  for (let round = 0; round < 5; round++) {
    await whileHung((object) => invokeAsync(object, IHang.method('Hang')), reads.ours, 20);
    await whileHung((object) => viaLibuv(object, IHang.method('Hang')), reads.old, 1);
  }
  const [ours, old, idle] = [percentile(reads.ours, 50), percentile(reads.old, 50), percentile(reads.idle, 50)];
  rows.push({
    metric: `8. fs.readFile while ${threads} calls hang / idle (ms)`,
    ours: `${fmt(ours, 2)} / ${fmt(idle, 2)} = ${fmt(ours / idle, 1)}x`,
    baseline: `${fmt(old, 1)} / ${fmt(idle, 2)} = ${fmt(old / idle, 0)}x (koffi .async)`,
    ratio: fmt(ours / old, 4),
    target: 'ours <= 10x idle',
    met: ours / idle <= 10,
  });
}

// 9. The receiver thread against the design before it (callback objects registered on the main thread,
// the sink run inside the service's call), side by side: four service threads call JobModification
// on one object of each kind, as BITS's RPC threads do, and time each call on their own clock.
if (wanted(9)) {
  const SERVICE_THREAD = `
    const { parentPort } = require('node:worker_threads');
    const koffi = require('koffi');
    koffi.load(null);
    const proto = koffi.proto('int __stdcall (void *self, void *job, uint32 reserved)');
    parentPort.on('message', ({ fn, self, count, control, latency, gap }) => {
      const call = koffi.decode(fn, proto);
      const cells = new Int32Array(control, 0, 4); // gate, stop, acknowledged, never set (a sleep)
      const started = new Float64Array(control, 16, 1);
      const holds = [];
      Atomics.wait(cells, 0, 0);
      for (let i = 0; i < count && Atomics.load(cells, 1) === 0; i++) {
        if (latency) Atomics.store(cells, 2, 0);
        if (gap > 0) Atomics.wait(cells, 3, 0, gap);
        // process.hrtime is one monotonic clock for every thread; performance.timeOrigin is taken per
        // thread, and a worker's differs from the main thread's by several microseconds.
        started[0] = Number(process.hrtime.bigint()) / 1e6;
        const t = performance.now();
        call(self, null, 0);
        holds.push(performance.now() - t);
        if (latency) Atomics.wait(cells, 2, 0);
      }
      parentPort.postMessage(holds);
    });
    parentPort.postMessage('ready');`;
  const threads = Array.from({ length: 4 }, () => new Worker(SERVICE_THREAD, { eval: true }));
  await Promise.all(threads.map((thread) => new Promise((resolve) => thread.once('message', resolve))));
  const subject = new Subject<void>();
  let onEvent: () => void = () => undefined;
  subject.subscribe(() => onEvent());
  const ours = new CallbackObject(() => subject.next());
  const before = new ComClass(IBackgroundCopyCallback2, { answerOnThrow: S_OK, report: () => undefined }).create({
    methods: { JobModification: () => (subject.next(), S_OK) },
  });
  const JobModification = IBackgroundCopyCallback2.method('JobModification');
  const entryOf = (self: Pointer) => koffi.decode(koffi.decode(self, 'void *') as Pointer, JobModification.slot * POINTER_SIZE, 'void *') as Pointer;
  const sides = { ours: ours.address, before: before.address } as const;
  /** `count` calls per thread on `self`; with `during`, they stop once it resolved (it runs as soon as they are let go). */
  const round = async (self: Pointer, count: number, options: { latency?: boolean; gapMs?: number; during?: () => Promise<void>; using?: number } = {}) => {
    const control = new SharedArrayBuffer(24);
    const cells = new Int32Array(control, 0, 4);
    const using = threads.slice(0, options.using ?? threads.length);
    const holds = using.map((thread) => new Promise<number[]>((resolve) => thread.once('message', resolve)));
    for (const thread of using) thread.postMessage({ fn: entryOf(self), self, count, control, latency: options.latency === true, gap: options.gapMs ?? 0 });
    return { cells, control, holds, go: async () => {
      Atomics.store(cells, 0, 1);
      Atomics.notify(cells, 0);
      if (options.during !== undefined) {
        await options.during();
        Atomics.store(cells, 1, 1);
      }
      return (await Promise.all(holds)).flat();
    } };
  };
  const blockMain = async () => {
    const until = performance.now() + 500;
    while (performance.now() < until); // the application's main thread, busy
  };
  const holdRows = async (label: string, during: (() => Promise<void>) | undefined, rounds: number, count: number, unit: 'µs' | 'ms') => {
    const holds = { ours: [] as number[], before: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      for (const side of i % 2 === 0 ? (['ours', 'before'] as const) : (['before', 'ours'] as const)) {
        let heard = 0;
        onEvent = () => heard++;
        const { go } = await round(sides[side], count, { during });
        const made = await go();
        holds[side].push(...made);
        // Everything answered reaches the subscriber before the next round.
        while (heard < made.length) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const scale = unit === 'µs' ? 1000 : 1;
    const [o50, o99, b50, b99] = [percentile(holds.ours, 50), percentile(holds.ours, 99), percentile(holds.before, 50), percentile(holds.before, 99)];
    return { o50, o99, b50, b99, row: (target: string, met: boolean | undefined) =>
      rows.push({
        metric: `9. service thread held per notification, ${label}, p50 / p99 (${unit}; ${holds.ours.length} / ${holds.before.length} calls)`,
        ours: `${fmt(o50 * scale, unit === 'µs' ? 1 : 3)} / ${fmt(o99 * scale, unit === 'µs' ? 1 : 3)}`,
        baseline: `${fmt(b50 * scale, unit === 'µs' ? 1 : 1)} / ${fmt(b99 * scale, unit === 'µs' ? 1 : 1)} (main-thread object)`,
        ratio: `${fmt(o50 / b50, 3)} / ${fmt(o99 / b99, 3)}`,
        target,
        met,
      }) };
  };
  (await holdRows('main idle', undefined, 10, 250, 'µs')).row('-', undefined);
  const blocked = await holdRows('main blocked 500 ms', blockMain, 4, 1_000_000, 'ms');
  blocked.row('ours p99 <= 1 ms', blocked.o99 <= 1);

  // Per event, to an RxJS subscriber, main idle: one call at a time, the next once the subscriber has
  // it. Back to back, every thread is still awake from the event before; with a gap, every thread has
  // gone to sleep, as between the notifications of a real job.
  const latencyRow = async (label: string, gapMs: number, rounds: number) => {
    const latency = { ours: [] as number[], before: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      for (const side of i % 2 === 0 ? (['ours', 'before'] as const) : (['before', 'ours'] as const)) {
        const { cells, control, go } = await round(sides[side], 100, { latency: true, gapMs, using: 1 });
        const started = new Float64Array(control, 16, 1);
        let heard = 0;
        const all = new Promise<void>((resolve) => {
          onEvent = () => {
            latency[side].push(Number(process.hrtime.bigint()) / 1e6 - started[0]!);
            Atomics.store(cells, 2, 1);
            Atomics.notify(cells, 2);
            if (++heard === 100) resolve();
          };
        });
        const finished = go();
        await all;
        await finished;
      }
    }
    const [l50, b50] = [percentile(latency.ours, 50), percentile(latency.before, 50)];
    rows.push({
      metric: `9. per event, service thread -> subscriber, main idle, ${label}, p50 (µs)`,
      ours: fmt(l50 * 1000),
      baseline: `${fmt(b50 * 1000)} (main-thread object)`,
      ratio: fmt(l50 / b50, 2),
      target: '<= 1.2',
      met: l50 / b50 <= 1.2,
    });
  };
  await latencyRow('back to back', 0, 30);
  await latencyRow('1 ms apart', 1, 10);

  // Sustained: four service threads calling back to back, until the subscriber has every event.
  const rate = { ours: [] as number[], before: [] as number[] };
  const PER_THREAD = 2000;
  for (let i = 0; i < 6; i++) {
    for (const side of i % 2 === 0 ? (['ours', 'before'] as const) : (['before', 'ours'] as const)) {
      let heard = 0;
      const all = new Promise<void>((resolve) => (onEvent = () => ++heard === PER_THREAD * threads.length && resolve()));
      const { go } = await round(sides[side], PER_THREAD);
      const start = performance.now();
      const finished = go();
      await all;
      rate[side].push((PER_THREAD * threads.length) / ((performance.now() - start) / 1000));
      await finished;
    }
  }
  const [r, rb] = [percentile(rate.ours, 50), percentile(rate.before, 50)];
  rows.push({ metric: '9. events/s to a subscriber, four notifications in flight', ours: fmt(r, 0), baseline: `${fmt(rb, 0)} (main-thread object)`, ratio: fmt(r / rb, 2), target: '>= 1', met: r / rb >= 1 });
  ours.dispose();
  before.release();
  await Promise.all(threads.map((thread) => thread.terminate()));
}

await bits.release();
await service.close();
await server.close();
koffi.unregister(floorCallback);
koffi.free(floorVtable);
koffi.free(floorObject);
rows.push(...engine);

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`rx-bits benchmarks: node ${process.version}, koffi ${koffi.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length} x ${cpu}, ${fmt(os.totalmem() / 2 ** 30, 0)} GiB`);
console.log('');
const header = ['metric', 'rx-bits', 'baseline (same run)', 'ratio', 'target', 'met'];
const table = rows.map((r) => [r.metric, r.ours, r.baseline, r.ratio, r.target, r.met === undefined ? '-' : r.met ? 'yes' : 'NO']);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table) console.log(line(row));
