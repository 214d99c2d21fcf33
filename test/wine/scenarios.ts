/**
 * The end-to-end scenarios, run by a Windows build of Node.js under Wine against Wine's own BITS
 * service (see wine.e2e.ts, which drives this file). It uses only the public API of the packed
 * library, as an application would.
 *
 * Usage: node.exe scenarios.ts <scenario>; the environment gives RXB_RESULT (where to write the
 * JSON result: Windows Node's stdout to a pipe fails under Wine), RXB_ORIGIN (the Linux-side HTTP
 * server), RXB_DIR (a work folder, as a Windows path) and, for some scenarios, RXB_ARG.
 *
 * The process must end by itself: nothing here calls process.exit. Node runs this file with type
 * stripping (22.18+), so it sticks to erasable TypeScript.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { filter, firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import {
  BitsJobError,
  completeWhenTransferred,
  connect,
  download,
  error$,
  failOnJobError,
  fileTransferred$,
  InvalidArgumentError,
  isFinalState,
  jobEvents$,
  JobLeftQueueError,
  registrationChanges$,
  liveCallbackObjects,
  liveHubs,
  referenceStats,
  resumePending,
  state$,
  transferred$,
  whenHubsIdle,
  type BitsJob,
  type BitsManager,
} from 'rx-bits';

const { RXB_RESULT: resultPath = '', RXB_ORIGIN: origin = '', RXB_DIR: dir = '', RXB_ARG: arg = '' } = process.env;
const local = (name: string): string => path.win32.join(dir, name);
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const poll = { pollInterval: 100 };

/** Follows a job with the operators, as an app would: fail on a job error, complete on transferred. */
async function transfer(job: BitsJob): Promise<unknown> {
  const done = lastValueFrom(jobEvents$(job, ['transferred', 'error'], poll).pipe(failOnJobError(), completeWhenTransferred(job)));
  await job.resume();
  return done;
}

/** The typed error a failing job surfaces through the backstop (Wine never calls JobError). */
async function failure(job: BitsJob): Promise<Record<string, unknown>> {
  const event = firstValueFrom(error$(job, poll));
  await whenHubsIdle(); // attached before the job starts: what follows is found by the backstop, not replayed
  await job.resume();
  const { source, transient, error } = await event;
  return { source, transient, code: error.code, hresult: error.hresult, context: error.context };
}

const scenarios: Record<string, (bits: BitsManager) => Promise<Record<string, unknown>>> = {
  async 'http-download'(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: http', files: [{ url: `${origin}/files/http?size=300000`, localPath: local('http.bin') }] });
    const result = await transfer(job);
    await job.release();
    return { result, sha256: sha256(local('http.bin')) };
  },

  async 'local-file'(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: local', files: [{ url: local('source.bin'), localPath: local('copy.bin') }] });
    const result = await transfer(job);
    await job.release();
    return { result, sha256: sha256(local('copy.bin')) };
  },

  async 'http-404'(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: 404', files: [{ url: `${origin}/status/404`, localPath: local('404.bin') }] });
    const found = await failure(job);
    // A later subscriber gets the same error at once, as a replay, and the operators type it.
    const typed = await lastValueFrom(jobEvents$(job, ['error']).pipe(failOnJobError(), take(1))).catch((e: unknown) => e);
    const cancel = await job.cancel();
    await job.release();
    return { ...found, cancel: cancel.code, replayedAsBitsJobError: typed instanceof BitsJobError && typed.code === 'BG_E_HTTP_ERROR_404' };
  },

  async 'refused-connection'(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: refused', files: [{ url: `http://127.0.0.1:${arg}/nothing`, localPath: local('refused.bin') }] });
    const found = await failure(job);
    const cancel = await job.cancel();
    await job.release();
    return { ...found, cancel: cancel.code };
  },

  async 'flags-follow-subscriptions'(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: flags' });
    const seen: Record<string, unknown> = { initial: await job.getNotifyFlags() };
    const a = transferred$(job).subscribe();
    const b = error$(job).subscribe();
    await whenHubsIdle();
    seen.both = await job.getNotifyFlags();
    seen.attached = await job.hasNotifyInterface();
    b.unsubscribe();
    await whenHubsIdle();
    seen.transferredOnly = await job.getNotifyFlags();
    a.unsubscribe();
    await whenHubsIdle();
    seen.afterDetach = await job.getNotifyFlags();
    seen.attachedAfterDetach = await job.hasNotifyInterface();
    await job.cancel();
    await job.release();
    return seen;
  },

  async 'cancel-while-transferring'(bits) {
    const job = await bits.createJob({
      displayName: 'rx-bits e2e: cancel',
      files: [{ url: `${origin}/slow/cancel?size=2000000&chunk=2000&delay=20`, localPath: local('cancel.bin') }],
    });
    const transferring = firstValueFrom(state$(job, poll).pipe(filter((s) => s === 'transferring')));
    await job.resume();
    await transferring;
    const cancel = await job.cancel();
    const state = await job.getState();
    await job.release();
    return { cancel: cancel.code, state };
  },

  async 'complete-and-cancel-inside-handler'(bits) {
    const make = (name: string) => bits.createJob({ displayName: `rx-bits e2e: ${name}`, files: [{ url: `${origin}/files/${name}?size=1000`, localPath: local(`${name}.bin`) }] });
    const [completing, cancelling] = await Promise.all([make('inside-complete'), make('inside-cancel')]);
    const results: Record<string, unknown> = {};
    const handled = (job: BitsJob, act: () => Promise<unknown>, key: string) =>
      new Promise<void>((resolve, reject) => {
        transferred$(job)
          .pipe(take(1))
          .subscribe(() => {
            act().then((value) => {
              results[key] = value;
              resolve();
            }, reject);
          });
      });
    const both = Promise.all([
      handled(completing, async () => (await completing.complete()).code, 'complete'),
      handled(cancelling, async () => (await cancelling.cancel()).code, 'cancel'),
    ]);
    await whenHubsIdle();
    await Promise.all([completing.resume(), cancelling.resume()]);
    await both;
    results.states = [await completing.getState(), await cancelling.getState()];
    await Promise.all([completing.release(), cancelling.release()]);
    return results;
  },

  /** A job that left the queue before anyone subscribed: Wine refuses SetNotifyFlags on it (BG_E_INVALID_STATE). */
  async 'left-the-queue'(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: left' });
    await job.cancel();
    const states = await lastValueFrom(state$(job, poll).pipe(toArray()));
    const transferred = await lastValueFrom(transferred$(job).pipe(toArray()));
    const waited = await firstValueFrom(jobEvents$(job).pipe(completeWhenTransferred(job))).catch((e: unknown) => e);
    await job.release();
    return { states, transferred: transferred.length, error: waited instanceof JobLeftQueueError ? { name: waited.name, state: waited.state } : String(waited) };
  },

  /** Watches a job until another process (cancel-by-id) cancels it: the hub notices by polling. */
  async 'watch-until-gone'(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: watched' });
    const states = lastValueFrom(state$(job, poll).pipe(toArray()));
    let transferredEnded = false;
    transferred$(job).subscribe({ complete: () => (transferredEnded = true) });
    await whenHubsIdle();
    writeFileSync(local('watch.ready'), job.id);
    const seen = await states;
    await whenHubsIdle();
    await job.release();
    // Wine holds our callback until the other process wakes its transfer thread (see cancel-by-id).
    for (let i = 0; i < 1000 && liveCallbackObjects() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    return { states: seen, transferredEnded };
  },

  /**
   * The other process: cancels the job whose id it is given. Wine refuses SetNotifyInterface(NULL)
   * on a cancelled job, so it keeps the watcher's callback until its transfer thread sweeps the job
   * out of the queue, which only a Resume wakes it to do: a small job of our own does that, and the
   * watcher then sees its callback object released.
   */
  async 'cancel-by-id'(bits) {
    const job = await bits.getJob(arg);
    const cancel = await job.cancel();
    await job.release();
    const wake = await bits.createJob({ displayName: 'rx-bits e2e: wake', files: [{ url: local('source.bin'), localPath: local('wake.bin') }] });
    await transfer(wake);
    await wake.release();
    return { cancel: cancel.code };
  },

  /** complete() while one file of two is still coming: Wine 8, like BITS, ends the job (recent Wine keeps it). */
  async 'partial-complete'(bits) {
    // Wine transfers the file added last first (it adds each at the head of its list).
    const job = await bits.createJob({
      displayName: 'rx-bits e2e: partial',
      files: [
        { url: `${origin}/slow/partial-b?size=20000&chunk=1000&delay=100`, localPath: local('partial-b.bin') },
        { url: `${origin}/files/partial-a?size=1000`, localPath: local('partial-a.bin') },
      ],
    });
    const heard: string[] = [];
    let ended = false;
    const watching = transferred$(job).subscribe({ next: (event) => heard.push(event.source), complete: () => (ended = true) });
    await whenHubsIdle();
    await job.resume();
    while ((await job.getProgress()).filesTransferred < 1) await new Promise((resolve) => setTimeout(resolve, 50));
    const first = await job.complete();
    const endedAtOnce = ended;
    const stateAfter = await job.getState();
    // A Wine that keeps the job (its current source does) leaves it to us: the process must still end.
    watching.unsubscribe();
    if (!isFinalState(stateAfter)) await job.cancel();
    await job.release();
    return { first: first.code, stateAfter, endedAtOnce, heard, a: sha256(local('partial-a.bin')) };
  },

  /**
   * A transferred$ that joins a hub attached only for fileTransferred$ (no JobTransferred asked for,
   * and transferred$ is never polled for): it is told at once the transfer that already happened.
   */
  async 'late-transferred'(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: late', files: [{ url: `${origin}/files/late?size=1000`, localPath: local('late.bin') }] });
    const watching = fileTransferred$(job).subscribe();
    await whenHubsIdle();
    const flags = await job.getNotifyFlags();
    await job.resume();
    while ((await job.getState()) !== 'transferred') await new Promise((resolve) => setTimeout(resolve, 50));
    const late = await firstValueFrom(transferred$(job));
    watching.unsubscribe();
    const complete = await job.complete();
    await job.release();
    return { flags, late: late.source, complete: complete.code };
  },

  /**
   * Process A of two: watches a job with transferred$ until process B (take-over) has registered
   * its own callback on it (last writer wins), then leaves. B must go on hearing the job.
   */
  async 'watch-then-leave'(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: shared', files: [{ url: `${origin}/files/shared?size=1000`, localPath: local('shared.bin') }] });
    const watching = transferred$(job).subscribe();
    await whenHubsIdle();
    writeFileSync(local('a.ready'), job.id);
    await untilFile(local('b.ready'));
    watching.unsubscribe();
    await whenHubsIdle();
    const flagsAfterLeaving = await job.getNotifyFlags();
    writeFileSync(local('a.left'), '');
    await job.release();
    return { flagsAfterLeaving };
  },

  /** Process B of two: takes the notify interface of A's job, waits for A to leave, then transfers it. */
  async 'take-over'(bits) {
    const job = await bits.getJob(arg);
    const heard = firstValueFrom(transferred$(job));
    await whenHubsIdle();
    writeFileSync(local('b.ready'), '');
    await untilFile(local('a.left'));
    await job.resume();
    const { source } = await heard;
    const complete = await job.complete();
    await job.release();
    return { source, complete: complete.code };
  },

  /**
   * Process A of two, watching with transferred$ alone: process B (take-over-and-transfer) takes the
   * notify interface. A notices at a renewal of its lease and polls instead, so it still hears the
   * transfer (B starts it only once A has noticed); B completes the job only once A heard it.
   */
  async 'displaced-watcher'(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: displaced', files: [{ url: `${origin}/files/displaced?size=1000`, localPath: local('displaced.bin') }] });
    const states: string[] = [];
    const changes = registrationChanges$.subscribe((change) => {
      states.push(change.state);
      if (change.state === 'displaced') writeFileSync(local('displaced.noticed'), '');
    });
    const heard = firstValueFrom(transferred$(job, { leaseInterval: 200, pollInterval: 100 }));
    await whenHubsIdle();
    writeFileSync(local('displaced.ready'), job.id);
    const { source } = await heard;
    writeFileSync(local('displaced.heard'), '');
    changes.unsubscribe();
    await whenHubsIdle();
    await job.release();
    return { source, states };
  },

  /** Process B: takes the notify interface of A's job, transfers it, and completes it once A heard. */
  async 'take-over-and-transfer'(bits) {
    const job = await bits.getJob(arg);
    const heard = firstValueFrom(transferred$(job));
    await whenHubsIdle();
    await untilFile(local('displaced.noticed'));
    await job.resume();
    const { source } = await heard;
    await untilFile(local('displaced.heard'));
    const complete = await job.complete();
    await job.release();
    return { source, complete: complete.code };
  },

  /**
   * Watches with transferred$ alone while the test kills Wine's service process: the lease notices,
   * and the hub reconnects. Wine keeps no jobs across that, and its service manager does not start
   * the killed service again (CoCreateInstance answers RPC_S_SERVER_UNAVAILABLE): the stream ends
   * with the job gone, or errors once reconnectTimeout has passed, instead of waiting for ever.
   */
  async 'service-dies'(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: dies', files: [{ url: `${origin}/gate/dies?size=100000&head=1000`, localPath: local('dies.bin') }] });
    const states: string[] = [];
    const changes = registrationChanges$.subscribe((change) => states.push(change.state));
    const ended = lastValueFrom(transferred$(job, { leaseInterval: 200, reconnectTimeout: 5000 }).pipe(toArray())).then(
      (events) => ({ completed: true, events: events.length }),
      (error: unknown) => ({ completed: false, error: error instanceof Error ? error.name : String(error) }),
    );
    await job.resume();
    await whenHubsIdle();
    writeFileSync(local('dies.ready'), job.id);
    const outcome = await ended;
    changes.unsubscribe();
    await job.release();
    return { ...outcome, states: [...new Set(states)] };
  },

  /** A bad file spec makes no job at all: nothing created, nothing cancelled left in the queue. */
  async 'bad-spec-makes-no-job'(bits) {
    const count = async () => {
      let n = 0;
      for await (const job of bits.jobs({ displayNamePrefix: 'rx-bits e2e: bad' })) {
        n++;
        await job.release();
      }
      return n;
    };
    const before = await count();
    const created = await bits
      .createJob({ displayName: 'rx-bits e2e: bad', files: [{ url: `${origin}/files/ok?size=10`, localPath: local('ok.bin') }, { url: `${origin}/files/bad`, localPath: 'relative.bin' }] })
      .then(
        () => 'created',
        (error: unknown) => (error instanceof InvalidArgumentError ? error.field : String(error)),
      );
    const downloaded = await lastValueFrom(download(`ftp://example.invalid/x`, local('x.bin'), { manager: bits, appName: 'rx-bits e2e: bad' })).then(
      () => 'downloaded',
      (error: unknown) => (error instanceof InvalidArgumentError ? error.field : String(error)),
    );
    return { created, downloaded, jobsMade: (await count()) - before };
  },

  async 'fifty-jobs'(bits) {
    const jobs = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        bits.createJob({ displayName: `rx-bits e2e: fifty ${i}`, files: [{ url: `${origin}/files/fifty-${i}?size=5000`, localPath: local(`fifty-${i}.bin`) }] }),
      ),
    );
    const results = await Promise.all(jobs.map((job) => transfer(job)));
    await Promise.all(jobs.map((job) => job.release()));
    const hashes = new Set(jobs.map((_, i) => sha256(local(`fifty-${i}.bin`))));
    return { completed: results.length, distinctHashes: hashes.size };
  },

  /**
   * The portable engine in Windows Node: Windows paths, its state folder, a failure retried by the
   * engine itself, the file moved into place on Complete. BITS is not involved.
   */
  async 'portable-download'() {
    const portable = await connect({ backend: 'portable', stateDir: local('portable-state') });
    try {
      const last = await lastValueFrom(
        download(`${origin}/flaky/portable?fail=1&status=503&size=250000`, local('portable.bin'), {
          manager: portable,
          appName: 'e2e-portable',
          retry: { nudgeTransientAfter: 200 },
          ...poll,
        }),
      );
      return { backend: portable.backend, reason: portable.choice.reason, attempt: last.attempt, complete: last.done?.code, sha256: sha256(local('portable.bin')) };
    } finally {
      await portable.release();
    }
  },

  /** First process on the portable engine: a download under way, left when the process ends. */
  async 'portable-leave'() {
    const portable = await connect({ backend: 'portable', stateDir: local('portable-reattach') });
    try {
      const first = await firstValueFrom(
        download(`${origin}/slow/portable-reattach?size=20000&chunk=1000&delay=150`, local('portable-reattach.bin'), { manager: portable, appName: `e2e-${arg}`, persist: true }),
      );
      return { id: first.jobId };
    } finally {
      await portable.release();
    }
  },

  /** Second process: the engine brings the job back from its state folder, and resumePending finishes it. */
  async 'portable-resume'() {
    const portable = await connect({ backend: 'portable', stateDir: local('portable-reattach') });
    try {
      const pending = await resumePending({ manager: portable, appName: `e2e-${arg}` });
      if (pending.length !== 1) throw new Error(`expected the first process's job, found ${pending.length}`);
      const last = await lastValueFrom(pending[0]!.download$);
      return { id: pending[0]!.jobId, complete: last.done?.code, sha256: sha256(local('portable-reattach.bin')) };
    } finally {
      await portable.release();
    }
  },

  /** First process: starts a download that persists, and goes away as soon as it is under way. */
  async 'reattach-create'(bits) {
    // Slow enough (3 s) that the first snapshot, polled after 500 ms, comes well before the end.
    const first = await firstValueFrom(
      download(`${origin}/slow/reattach?size=20000&chunk=1000&delay=150`, local('reattach.bin'), { manager: bits, appName: `e2e-${arg}`, persist: true }),
    );
    if (first.done !== undefined) throw new Error('the first process finished the job itself; the scenario needs it left unfinished');
    return { id: first.jobId, state: first.state };
  },

  /** Second process: resumePending finds the job the first left and follows it to the end. */
  async 'reattach-resume'(bits) {
    const pending = await resumePending({ manager: bits, appName: `e2e-${arg}` });
    if (pending.length !== 1) throw new Error(`expected the first process's job, found ${pending.length}`);
    const last = await lastValueFrom(pending[0]!.download$);
    return { id: pending[0]!.jobId, name: pending[0]!.displayName, complete: last.done?.code, sha256: sha256(local('reattach.bin')) };
  },

  /**
   * IBackgroundCopyJob2 as Wine has it (dlls/qmgr/job.c): SetCredentials and RemoveCredentials are
   * real (the credentials go to WinHTTP before every request), the notify command line and the reply
   * methods answer E_NOTIMPL.
   */
  async job2(bits) {
    const url = `${origin}/files/guarded?size=5000&user=alice&password=hunter2`;
    const job = await bits.createJob({ displayName: 'rx-bits e2e: credentials', files: [{ url, localPath: local('guarded.bin') }] });
    const others = ['digest', 'ntlm', 'negotiate', 'passport'] as const;
    for (const scheme of others) await job.setCredentials({ target: 'proxy', scheme, userName: 'proxy-user', password: 'proxy-password' });
    for (const scheme of others) await job.removeCredentials('proxy', scheme);
    await job.setCredentials({ target: 'server', scheme: 'basic', userName: 'alice', password: 'hunter2' });
    const result = await transfer(job);
    await job.release();

    const stub = await bits.createJob({ displayName: 'rx-bits e2e: job2 stubs' });
    const answers: Record<string, unknown> = {};
    const calls: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
      ['setNotifyCommandLine', () => stub.setNotifyCommandLine({ program: local('updater.exe'), parameters: '--done' })],
      ['getNotifyCommandLine', () => stub.getNotifyCommandLine()],
      ['getReplyProgress', () => stub.getReplyProgress()],
      ['getReplyData', () => stub.getReplyData()],
      ['setReplyFileName', () => stub.setReplyFileName(null)],
      ['getReplyFileName', () => stub.getReplyFileName()],
    ];
    for (const [name, call] of calls) answers[name] = await call().then(() => 'S_OK', (error: unknown) => (error as { code?: string }).code ?? String(error));
    await stub.cancel();
    await stub.release();
    return { result, sha256: sha256(local('guarded.bin')), answers };
  },

  /**
   * IBackgroundCopyJob3-5 as Wine has them (dlls/qmgr/job.c): its job object is an
   * IBackgroundCopyJob4 whose Job3/Job4 setters answer S_OK doing nothing and whose Job4 getters
   * answer E_NOTIMPL; it has no IBackgroundCopyJob5, so QueryInterface refuses it.
   */
  async job345(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: job3-5' });
    const answers: Record<string, unknown> = {};
    const calls: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
      ['replaceRemotePrefix', () => job.replaceRemotePrefix(`${origin}/a`, `${origin}/b`)],
      ['addFilesWithRanges', () => job.addFilesWithRanges([{ url: `${origin}/files/r?size=100`, localPath: local('ranged.bin'), ranges: [{ offset: 0, length: 10 }] }])],
      ['setFileAclFlags', () => job.setFileAclFlags(['owner'])],
      ['getFileAclFlags', () => job.getFileAclFlags()],
      ['setPeerCachingFlags', () => job.setPeerCachingFlags(['disableBranchCache'])],
      ['getPeerCachingFlags', () => job.getPeerCachingFlags()],
      ['getOwnerIntegrityLevel', () => job.getOwnerIntegrityLevel()],
      ['isOwnerElevated', () => job.isOwnerElevated()],
      ['setMaximumDownloadTime', () => job.setMaximumDownloadTime(60)],
      ['getMaximumDownloadTime', () => job.getMaximumDownloadTime()],
      ['setProperty', () => job.setProperty('transferPolicy', 'standard')],
      ['getProperty', () => job.getProperty('transferPolicy')],
    ];
    const describeError = (error: unknown): unknown => {
      const { name, code, interfaceName, introducedIn } = error as { name?: string; code?: string; interfaceName?: string; introducedIn?: string };
      return name === 'InterfaceNotSupportedError' ? { name, interfaceName, introducedIn } : (code ?? String(error));
    };
    for (const [name, call] of calls) answers[name] = await call().then((value) => ({ value: value ?? null }), describeError);
    const files = (await job.getFiles()).length;
    await job.cancel();
    await job.release();
    return { answers, files };
  },

  /**
   * IBackgroundCopyFile2-6 as Wine has them (dlls/qmgr/file.c): its file object answers
   * QueryInterface for IBackgroundCopyFile and File2 only, and File2's two methods answer E_NOTIMPL.
   */
  async files(bits) {
    const url = `${origin}/files/wine-file?size=100`;
    const job = await bits.createJob({ displayName: 'rx-bits e2e: files', files: [{ url, localPath: local('wine-file.bin') }] });
    const [file, ...others] = await job.files();
    const answers: Record<string, unknown> = {};
    const calls: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
      ['getFileRanges', () => file!.getFileRanges()],
      ['setRemoteName', () => file!.setRemoteName(`${origin}/files/elsewhere?size=100`)],
      ['getTemporaryName', () => file!.getTemporaryName()],
      ['getPeerDownloadStats', () => file!.getPeerDownloadStats()],
      ['getProperty', () => file!.getProperty('httpResponseHeaders')],
      ['getFilledFileRanges', () => file!.getFilledFileRanges()],
    ];
    const describeError = (error: unknown): unknown => {
      const { name, code, interfaceName, introducedIn } = error as { name?: string; code?: string; interfaceName?: string; introducedIn?: string };
      return name === 'InterfaceNotSupportedError' ? { name, interfaceName, introducedIn } : (code ?? String(error));
    };
    for (const [name, call] of calls) answers[name] = await call().then((value) => ({ value: value ?? null }), describeError);
    const info = await file!.getInfo();
    await file!.release();
    await job.cancel();
    await job.release();
    return { answers, others: others.length, url: info.url };
  },

  /**
   * IBackgroundCopyJobHttpOptions as Wine has it (dlls/qmgr/job.c): custom headers kept and sent with
   * the request, security flags kept (whatever their value) and read back, client certificates
   * E_NOTIMPL; no IBackgroundCopyJobHttpOptions2.
   */
  async 'http-options'(bits) {
    const job = await bits.createJob({ displayName: 'rx-bits e2e: http options', files: [{ url: `${origin}/files/options?size=2000`, localPath: local('options.bin') }] });
    await job.setCustomHeaders({ 'X-Rx-Bits': 'wine' });
    const headers = await job.getCustomHeaders();
    const initial = await job.getSecurityOptions();
    await job.setSecurityOptions({ checkRevocation: true, ignoreCertificateErrors: ['unknownCa', 'dateInvalid'], redirects: 'disallow', allowHttpsToHttp: true });
    const security = await job.getSecurityOptions();
    const answers: Record<string, unknown> = {};
    const calls: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
      ['setClientCertificate', () => job.setClientCertificate({ storeLocation: 'currentUser', storeName: 'MY', subjectName: 'CN=rx-bits' })],
      ['getClientCertificate', () => job.getClientCertificate()],
      ['removeClientCertificate', () => job.removeClientCertificate()],
      ['setHttpMethod', () => job.setHttpMethod('PUT')],
      ['getHttpMethod', () => job.getHttpMethod()],
      ['setServerCertificateValidation', () => job.setServerCertificateValidation({ sha256: ['ab'.repeat(32)] })],
      ['makeCustomHeadersWriteOnly', () => job.makeCustomHeadersWriteOnly()],
    ];
    for (const [name, call] of calls) {
      answers[name] = await call().then(
        (value) => ({ value: value ?? null }),
        (error: unknown) => {
          const { name: type, operation, interfaceName, introducedIn, code } = error as { name?: string; operation?: string; interfaceName?: string; introducedIn?: string; code?: string };
          if (type === 'InterfaceNotSupportedError') return { name: type, interfaceName, introducedIn };
          return type === 'ComError' ? { name: type, code } : { name: type, operation };
        },
      );
    }
    const result = await transfer(job);
    await job.release();
    return { headers, initial, security, answers, result, sha256: sha256(local('options.bin')) };
  },
};

/** Waits for another process to write a file (the two processes' only channel). */
async function untilFile(file: string): Promise<void> {
  while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 50));
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  const scenario = scenarios[name];
  const result: Record<string, unknown> = { scenario: name };
  try {
    if (scenario === undefined) throw new Error(`unknown scenario '${name}'`);
    const bits = await connect();
    try {
      result.details = await scenario(bits);
    } finally {
      await bits.release();
    }
    await whenHubsIdle();
    // Wine's service drops its reference to our callback objects through RPC, a moment later.
    for (let i = 0; i < 100 && liveCallbackObjects() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    result.ok = true;
  } catch (error) {
    result.ok = false;
    result.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
  }
  result.references = referenceStats();
  result.callbackObjects = liveCallbackObjects();
  result.hubs = liveHubs();
  writeFileSync(resultPath, JSON.stringify(result, null, 2));
}

void main();
