import fc from 'fast-check';
import type { Subscription } from 'rxjs';
import { expect, test } from 'vitest';
import { jobEvents$, JOB_EVENT_TYPES, NotifyFlags, progress$, state$, type BitsJob, type HubOptions, type JobEventType } from '../src/index.js';
import { NOTIFY_FLAG_OF, type Interest } from '../src/observables/events.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { until, useLoopback } from './support/harness.js';

const h = useLoopback();

const JOBS = 3;
const DEFAULT_FLAGS = NotifyFlags.JobTransferred | NotifyFlags.JobError;

type Spec = { readonly kind: 'events'; readonly types: readonly JobEventType[] } | { readonly kind: 'state' } | { readonly kind: 'progress' };
type Command = { readonly op: 'subscribe'; readonly job: number; readonly spec: Spec } | { readonly op: 'unsubscribe'; readonly pick: number };

const spec: fc.Arbitrary<Spec> = fc.oneof(
  fc.subarray([...JOB_EVENT_TYPES], { minLength: 1 }).map((types): Spec => ({ kind: 'events', types })),
  fc.constant<Spec>({ kind: 'state' }),
  fc.constant<Spec>({ kind: 'progress' }),
);
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('subscribe' as const), job: fc.nat(JOBS - 1), spec }),
  fc.record({ op: fc.constant('unsubscribe' as const), pick: fc.nat() }),
);

function interestsOf(s: Spec): Interest[] {
  return s.kind === 'events' ? [...s.types] : [s.kind];
}

function open(job: BitsJob, s: Spec, options: HubOptions = {}): Subscription {
  if (s.kind === 'state') return state$(job, options).subscribe();
  if (s.kind === 'progress') return progress$(job, options).subscribe();
  return jobEvents$(job, s.types, options).subscribe();
}

test('notify flags always equal the union of what live subscriptions want (fast-check, 1,000 runs)', async () => {
  const jobs = await Promise.all(Array.from({ length: JOBS }, (_, i) => h.bits.createJob({ displayName: `property ${i}` })));

  await fc.assert(
    fc.asyncProperty(fc.array(command, { maxLength: 12 }), async (commands) => {
      const live: Array<{ job: number; spec: Spec; subscription: Subscription }> = [];
      const check = async () => {
        await whenHubsIdle();
        for (let j = 0; j < JOBS; j++) {
          const mine = live.filter((entry) => entry.job === j);
          const union = mine.flatMap((entry) => interestsOf(entry.spec)).reduce((flags, interest) => flags | NOTIFY_FLAG_OF[interest], 0);
          // Detaching gives the job back the flags it had before we came.
          const expected = mine.length > 0 ? union : DEFAULT_FLAGS;
          expect(await jobs[j]!.getNotifyFlags()).toBe(expected);
          expect(await jobs[j]!.hasNotifyInterface()).toBe(mine.length > 0);
        }
      };
      try {
        for (const c of commands) {
          if (c.op === 'subscribe') {
            live.push({ job: c.job, spec: c.spec, subscription: open(jobs[c.job]!, c.spec) });
          } else if (live.length > 0) {
            const [entry] = live.splice(c.pick % live.length, 1);
            entry!.subscription.unsubscribe();
          }
          await check();
        }
      } finally {
        for (const entry of live.splice(0)) entry.subscription.unsubscribe();
        await whenHubsIdle();
      }
      await check();
      expect(liveHubs()).toBe(0);
    }),
    { numRuns: 1000 },
  );

  for (const job of jobs) {
    await job.cancel();
    await job.release();
  }
}, 300_000);

type LeavingCommand = Command | { readonly op: 'cancelHere' | 'cancelElsewhere'; readonly job: number };

const leavingCommand: fc.Arbitrary<LeavingCommand> = fc.oneof(
  { arbitrary: command, weight: 4 },
  { arbitrary: fc.record({ op: fc.constantFrom('cancelHere' as const, 'cancelElsewhere' as const), job: fc.nat(JOBS - 1) }), weight: 1 },
);

const POLLED: ReadonlySet<Interest> = new Set(['error', 'modification', 'state', 'progress']);

test('jobs leaving the queue end exactly the subscriptions they should, and flags stay right for the rest (fast-check, 300 runs)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(leavingCommand, { maxLength: 12 }), async (commands) => {
      const jobs = await Promise.all(Array.from({ length: JOBS }, (_, i) => h.bits.createJob({ displayName: `leaving ${i}` })));
      const left = new Array<'here' | 'elsewhere' | undefined>(JOBS).fill(undefined);
      /** `attachedToGone`: opened after its job left, with nothing else watching the job, so it attached to a gone job. */
      const subs: Array<{ job: number; spec: Spec; subscription: Subscription; closedByUs: boolean; attachedToGone: boolean }> = [];
      const watching = (job: number) => subs.some((sub) => sub.job === job && !sub.closedByUs && !sub.subscription.closed);
      // A short poll, so that a cancel made elsewhere is noticed quickly by polled subscriptions.
      const quickPoll: HubOptions = { pollInterval: 1 };
      const check = async () => {
        await whenHubsIdle();
        for (const sub of subs) {
          if (sub.closedByUs) continue;
          const gone = left[sub.job];
          // Never ended while its job is alive.
          if (gone === undefined) expect(sub.subscription.closed).toBe(false);
          // Ended at once by our own Cancel, or by attaching to a job that is already gone.
          if (gone === 'here' || sub.attachedToGone) expect(sub.subscription.closed).toBe(true);
          // Ended by the next poll when the hub polls; unpolled ones may wait (documented).
          if (gone === 'elsewhere' && interestsOf(sub.spec).some((i) => POLLED.has(i))) await until(() => sub.subscription.closed);
        }
        for (let j = 0; j < JOBS; j++) {
          if (left[j] !== undefined) continue;
          const mine = subs.filter((sub) => sub.job === j && !sub.closedByUs);
          const union = mine.flatMap((sub) => interestsOf(sub.spec)).reduce((flags, interest) => flags | NOTIFY_FLAG_OF[interest], 0);
          expect(await jobs[j]!.getNotifyFlags()).toBe(mine.length > 0 ? union : DEFAULT_FLAGS);
          expect(await jobs[j]!.hasNotifyInterface()).toBe(mine.length > 0);
        }
      };
      try {
        for (const c of commands) {
          if (c.op === 'subscribe') {
            const attachedToGone = left[c.job] !== undefined && !watching(c.job);
            subs.push({ job: c.job, spec: c.spec, subscription: open(jobs[c.job]!, c.spec, quickPoll), closedByUs: false, attachedToGone });
          } else if (c.op === 'unsubscribe') {
            const live = subs.filter((sub) => !sub.closedByUs);
            if (live.length === 0) continue;
            const sub = live[c.pick % live.length]!;
            sub.subscription.unsubscribe();
            sub.closedByUs = true;
          } else if (left[c.job] === undefined) {
            if (c.op === 'cancelHere') await jobs[c.job]!.cancel();
            else h.service.job(jobs[c.job]!.id)!.cancel(); // another process: not through our handle
            left[c.job] = c.op === 'cancelHere' ? 'here' : 'elsewhere';
          }
          await check();
        }
      } finally {
        for (const sub of subs) sub.subscription.unsubscribe();
        await whenHubsIdle();
        for (let j = 0; j < JOBS; j++) {
          if (left[j] === undefined) await jobs[j]!.cancel();
          await jobs[j]!.release();
        }
      }
      expect(liveHubs()).toBe(0);
    }),
    { numRuns: 300 },
  );
}, 300_000);
