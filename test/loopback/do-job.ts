import path from 'node:path';
import type { ComObject } from '../../src/com/com-object.js';
import { E_INVALIDARG } from '../../src/com/hresult.js';
import { IDeliveryOptimizationJob } from '../../src/com/interfaces.js';
import type { JobModel } from './job-model.js';
import { counted, loopbackClass, missing, tearOffOf, type ServiceCore } from './shared.js';

/** IDeliveryOptimizationJob as a tear-off of a Delivery Optimization job object, holding a reference on it. */

const doJobClass = loopbackClass(IDeliveryOptimizationJob);

export function createDoJob(core: ServiceCore, model: JobModel, job: ComObject, invalidState: number): ComObject {
  return doJobClass.create({
    ...tearOffOf(core, 'doJobs', job),
    methods: counted(core, IDeliveryOptimizationJob, {
      AddFileWithRanges: (fileId, url, local, rangeCount, ranges) => {
        if (fileId === null || url === null || local === null || !path.isAbsolute(local)) return E_INVALIDARG;
        if (rangeCount > 0 && missing(ranges)) return E_INVALIDARG;
        if (model.final) return invalidState;
        return model.addFile(url, local);
      },
    }),
  });
}
