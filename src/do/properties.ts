import { DO_COST_POLICIES } from '../com/do-interfaces.js';
import { NEW_BRIDGE_JOB, type BridgeFile, type BridgeJob } from './bridge-job.js';
import type { SettableProperty } from './download.js';
import { encodeDownloadName } from './naming.js';

/**
 * What a Delivery Optimization download of a bridge job is told before it starts: the BITS job's own
 * settings in DO's terms, then createJob's DO options. DO takes them in Created (every client sets
 * them there), so they are set once per download, right after CreateDownload.
 */

/** Each property a download of this job carries, with the option that asked for it (undefined: rx-bits's own choice). */
export function downloadProperties(job: BridgeJob, file: BridgeFile): Array<[SettableProperty, string | number | bigint | boolean, string | undefined]> {
  const { options } = job;
  const list: Array<[SettableProperty, string | number | bigint | boolean, string | undefined]> = [
    ['Uri', file.url, 'url'],
    ['LocalPath', file.localPath, 'localPath'],
    ['DisplayName', encodeDownloadName({ displayName: job.displayName, jobId: job.id, index: file.index }), 'displayName'],
  ];
  if (file.contentId !== undefined) list.push(['ContentId', file.contentId, `files[${file.index}].fileId`]);
  if (file.size !== undefined) list.push(['TotalSizeBytes', BigInt(file.size), `files[${file.index}].size`]);
  if (job.headers !== '') list.push(['HttpCustomHeaders', job.headers, 'headers']);
  if (job.priority === 0) list.push(['ForegroundPriority', true, 'priority']);
  // DO's minimum is 60 s; 0 (every error final) is the bridge's to apply, not DO's (whose 0 is "its default").
  if (job.noProgressTimeout !== NEW_BRIDGE_JOB.noProgressTimeout && job.noProgressTimeout !== 0) {
    list.push(['NoProgressTimeoutSeconds', Math.max(60, job.noProgressTimeout), 'noProgressTimeout']);
  }
  const at = (key: string) => `deliveryOptimization.${key}`;
  if (options.costPolicy !== undefined) list.push(['CostPolicy', DO_COST_POLICIES.indexOf(options.costPolicy), at('costPolicy')]);
  if (options.callbackFrequency?.seconds !== undefined) list.push(['CallbackFreqSeconds', options.callbackFrequency.seconds, at('callbackFrequency.seconds')]);
  if (options.callbackFrequency?.percent !== undefined) list.push(['CallbackFreqPercent', options.callbackFrequency.percent, at('callbackFrequency.percent')]);
  list.push(['NonVolatile', options.nonVolatile ?? true, options.nonVolatile === undefined ? undefined : at('nonVolatile')]);
  if (options.integrityCheck?.info !== undefined) list.push(['IntegrityCheckInfo', options.integrityCheck.info, at('integrityCheck.info')]);
  if (options.integrityCheck?.mandatory !== undefined) list.push(['IntegrityCheckMandatory', options.integrityCheck.mandatory, at('integrityCheck.mandatory')]);
  if (options.disallowOnCellular !== undefined) list.push(['DisallowOnCellular', options.disallowOnCellular, at('disallowOnCellular')]);
  return list;
}
