import type { ComObject } from '../../src/com/com-object.js';
import { BG_E_INVALID_STATE, E_INVALIDARG, E_NOTIMPL, S_FALSE, S_OK } from '../../src/com/hresult.js';
import { IBackgroundCopyJobHttpOptions } from '../../src/com/interfaces.js';
import type { JobModel } from './job-model.js';
import type { ClientProcess } from './process.js';
import { counted, loopbackClass, missing, tearOffOf, uint, writePointer, type ServiceCore } from './shared.js';

/**
 * IBackgroundCopyJobHttpOptions (BITS 2.5) as a tear-off of a job object, holding a reference on it
 * as Wine's http_options_AddRef/Release (dlls/qmgr/job.c) forward to the job. Custom headers and
 * security flags are modelled; client certificates answer E_NOTIMPL (no method handler).
 */

const httpOptionsClass = loopbackClass(IBackgroundCopyJobHttpOptions);

/**
 * Every flag "IBackgroundCopyJobHttpOptions::SetSecurityFlags" defines (bits-com-extended.md):
 * BG_SSL_ENABLE_CRL_CHECK 0x1, BG_SSL_IGNORE_CERT_CN_INVALID 0x2, BG_SSL_IGNORE_CERT_DATE_INVALID 0x4,
 * BG_SSL_IGNORE_UNKNOWN_CA 0x8, BG_SSL_IGNORE_CERT_WRONG_USAGE 0x10, the redirect policy in
 * BG_HTTP_REDIRECT_POLICY_MASK 0x700, BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP 0x800.
 */
const SECURITY_FLAGS = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x700 | 0x800;
const REDIRECT_POLICY_MASK = 0x700;
/** The redirect policies that exist: ALLOW_SILENT 0x0, ALLOW_REPORT 0x100, DISALLOW 0x200. */
const REDIRECT_POLICIES: readonly number[] = [0x0, 0x100, 0x200];

export function createHttpOptions(core: ServiceCore, process: ClientProcess, model: JobModel, job: ComObject): ComObject {
  return httpOptionsClass.create({
    ...tearOffOf(core, 'httpOptions', job),
    methods: counted(core, IBackgroundCopyJobHttpOptions, {
      // "IBackgroundCopyJobHttpOptions::SetCustomHeaders": BG_E_INVALID_STATE on a CANCELLED or ACKNOWLEDGED job.
      SetCustomHeaders: (headers) => {
        if (model.final) return BG_E_INVALID_STATE;
        model.headers = headers ?? '';
        return S_OK;
      },
      // "IBackgroundCopyJobHttpOptions::GetCustomHeaders": S_FALSE "The job does not specify custom
      // headers"; Wine's test_HttpOptions (dlls/qmgr/tests/job.c, run on Windows too) sees NULL then.
      GetCustomHeaders: (out) => {
        if (missing(out)) return E_INVALIDARG;
        if (model.headers === '') {
          writePointer(out!, 0n);
          return S_FALSE;
        }
        writePointer(out!, process.taskMemory.allocString(model.headers));
        return S_OK;
      },
      // "IBackgroundCopyJobHttpOptions::SetSecurityFlags": E_NOTIMPL "The flag value is not supported"
      // (bits-com-extended.md), for an undefined bit or redirect policy.
      SetSecurityFlags: (flags) => {
        if (model.final) return BG_E_INVALID_STATE;
        if ((flags & ~SECURITY_FLAGS) !== 0 || !REDIRECT_POLICIES.includes(flags & REDIRECT_POLICY_MASK)) return E_NOTIMPL;
        model.securityFlags = flags;
        return S_OK;
      },
      // Wine's test_HttpOptions: a new job's flags are 0.
      GetSecurityFlags: (out) => uint(out, model.securityFlags),
    }),
  });
}
