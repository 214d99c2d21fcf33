import koffi from 'koffi';
import { bitsVersionsThrough } from '../../src/com/bits-versions.js';
import type { ComObject, MethodHandlers } from '../../src/com/com-object.js';
import { encodeGuid, type Guid } from '../../src/com/guid.js';
import { BG_E_INVALID_STATE, E_ACCESSDENIED, E_INVALIDARG, E_NOINTERFACE, E_NOTIMPL, hresultByName, RPC_X_BAD_STUB_DATA, S_FALSE, S_OK } from '../../src/com/hresult.js';
import type { ComInterface } from '../../src/com/interface-table.js';
import {
  IBackgroundCopyJobHttpOptions,
  IBackgroundCopyJobHttpOptions2,
  IBackgroundCopyJobHttpOptions3,
  IBackgroundCopyServerCertificateValidationCallback,
  IUnknown,
} from '../../src/com/interfaces.js';
import { invokeSync } from '../../src/com/invoke.js';
import { pointerSlot, readPointer, type Pointer } from '../../src/com/native-types.js';
import { JobType, State, type JobModel } from './job-model.js';
import type { ClientProcess } from './process.js';
import { counted, loopbackClass, missing, RPC_X_NULL_REF_POINTER, tearOffOf, uint, writeInt, writePointer, type ServiceCore } from './shared.js';

/**
 * IBackgroundCopyJobHttpOptions (BITS 2.5), ...2 (BITS 10.2) and ...3 (BITS 10.3) as a tear-off of
 * a job object, holding a reference on it as Wine's http_options_AddRef/Release (dlls/qmgr/job.c)
 * forward to the job; the tear-off is of the newest the service's `bitsVersion` has, and a service
 * older than 2.5 has none. Custom headers are sent and the HTTP method is used by the transfer; the
 * security flags and the certificate validation callback act on transfers over https
 * (server-certificate.ts); the client certificate is kept and answered but never presented (the
 * test server asks for none).
 */

const httpOptionsClass = loopbackClass(IBackgroundCopyJobHttpOptions);
const httpOptions2Class = loopbackClass(IBackgroundCopyJobHttpOptions2);
const httpOptions3Class = loopbackClass(IBackgroundCopyJobHttpOptions3);
const BG_E_READ_ONLY_WHEN_JOB_ACTIVE = hresultByName('BG_E_READ_ONLY_WHEN_JOB_ACTIVE')!;
/** "SetServerCertificateValidationInterface": only while the job is SUSPENDED, in ERROR or TRANSFERRED. */
const QUIET_STATES: readonly number[] = [State.SUSPENDED, State.ERROR, State.TRANSFERRED];

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
/** BG_CERT_STORE_LOCATION_CURRENT_USER 0 ... _LOCAL_MACHINE_ENTERPRISE 7. */
const LAST_STORE_LOCATION = 7;
/** SetClientCertificateByID's hash: "a 20-byte SHA-1". */
const SHA1_LENGTH = 20;
/** BITS_JOB_PROPERTY_ID_DYNAMIC_CONTENT and _ON_DEMAND_MODE, which exclude a custom HTTP method. */
const DYNAMIC_CONTENT = 3;
const ON_DEMAND_MODE = 10;
const BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD = hresultByName('BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD')!;
/** BG_JOB_PRIORITY_FOREGROUND: where a custom HTTP method puts the job, for good. */
const FOREGROUND = 0;

/** "IBackgroundCopyJobHttpOptions2::GetHttpMethod": "By default, download jobs will be "GET", and upload and upload-reply jobs will be "BITS_POST"". */
export function defaultHttpMethod(model: JobModel): string {
  return model.type === JobType.DOWNLOAD ? 'GET' : 'BITS_POST';
}

/** Whether a Job5 property that excludes a custom HTTP method is on. */
const enabled = (model: JobModel, id: number): boolean => (model.properties.get(id)?.readInt32LE() ?? 0) !== 0;

function httpOptionsHandlers(process: ClientProcess, model: JobModel): MethodHandlers<typeof IBackgroundCopyJobHttpOptions> {
  /** A change: refused once the job left the queue (BG_E_INVALID_STATE, as every change). */
  const change = (set: () => void): number => {
    if (model.final) return BG_E_INVALID_STATE;
    set();
    model.touch();
    return S_OK;
  };
  /** An [in] string the IDL marks as a reference: NULL never reaches a real service (RPC_X_NULL_REF_POINTER). */
  const certificate = (location: number, storeName: string | null, set: () => void): number => {
    if (location < 0 || location > LAST_STORE_LOCATION) return E_INVALIDARG;
    if (storeName === null) return RPC_X_NULL_REF_POINTER;
    return change(set);
  };
  return {
    SetClientCertificateByID: (location, storeName, hash) => {
      if (missing(hash)) return RPC_X_NULL_REF_POINTER;
      const bytes = Buffer.from(new Uint8Array(koffi.view(hash!, SHA1_LENGTH)));
      return certificate(location, storeName, () => (model.clientCertificate = { location, storeName: storeName!, hash: bytes }));
    },
    SetClientCertificateByName: (location, storeName, subjectName) => {
      if (subjectName === null) return RPC_X_NULL_REF_POINTER;
      return certificate(location, storeName, () => (model.clientCertificate = { location, storeName: storeName!, subjectName }));
    },
    RemoveClientCertificate: () => change(() => (model.clientCertificate = undefined)),
    // "GetClientCertificate with none set -> RPC_X_BAD_STUB_DATA; NULL out pointer -> RPC_X_NULL_REF_POINTER"
    // (bits-com-extended.md). A certificate chosen by subject name comes back without a hash here.
    GetClientCertificate: (location, storeName, hash, subjectName) => {
      if (missing(location, storeName, hash, subjectName)) return RPC_X_NULL_REF_POINTER;
      for (const out of [storeName, hash, subjectName]) writePointer(out!, 0n);
      const chosen = model.clientCertificate;
      if (chosen === undefined) return RPC_X_BAD_STUB_DATA;
      writeInt(location!, chosen.location);
      writePointer(storeName!, process.taskMemory.allocString(chosen.storeName));
      if (chosen.hash !== undefined) writePointer(hash!, process.taskMemory.allocBytes(chosen.hash));
      if (chosen.subjectName !== undefined) writePointer(subjectName!, process.taskMemory.allocString(chosen.subjectName));
      return S_OK;
    },
    // "IBackgroundCopyJobHttpOptions::SetCustomHeaders": BG_E_INVALID_STATE on a CANCELLED or ACKNOWLEDGED job.
    SetCustomHeaders: (headers) => change(() => (model.headers = headers ?? '')),
    // "IBackgroundCopyJobHttpOptions::GetCustomHeaders": S_FALSE "The job does not specify custom
    // headers"; Wine's test_HttpOptions (dlls/qmgr/tests/job.c, run on Windows too) sees NULL then.
    // E_ACCESSDENIED once "MakeCustomHeadersWriteOnly has been called on the job" (the same page).
    GetCustomHeaders: (out) => {
      if (missing(out)) return E_INVALIDARG;
      writePointer(out!, 0n);
      if (model.headersWriteOnly) return E_ACCESSDENIED;
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
      return change(() => (model.securityFlags = flags));
    },
    // Wine's test_HttpOptions: a new job's flags are 0.
    GetSecurityFlags: (out) => uint(out, model.securityFlags),
  };
}

/**
 * IBackgroundCopyJobHttpOptions2's own methods, as "SetHttpMethod" describes them: the default verb
 * is a no-op; any other locks the job at FOREGROUND priority (the job's SetPriority refuses others
 * from then on) and is refused with DYNAMIC_CONTENT or ON_DEMAND_MODE
 * (BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD). Set before the first Resume (bits-com-extended.md):
 * BG_E_INVALID_STATE after it.
 */
function httpOptions2Handlers(process: ClientProcess, model: JobModel): Pick<MethodHandlers<typeof IBackgroundCopyJobHttpOptions2>, 'SetHttpMethod' | 'GetHttpMethod'> {
  return {
    SetHttpMethod: (method) => {
      if (method === null) return RPC_X_NULL_REF_POINTER;
      if (method === '' || /[\s\0]/.test(method)) return E_INVALIDARG;
      if (model.final || model.resumed) return BG_E_INVALID_STATE;
      if (method === defaultHttpMethod(model)) return S_OK;
      if (enabled(model, DYNAMIC_CONTENT) || enabled(model, ON_DEMAND_MODE)) return BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD;
      model.httpMethod = method;
      model.priority = FOREGROUND;
      model.touch();
      return S_OK;
    },
    GetHttpMethod: (out) => {
      if (missing(out)) return E_INVALIDARG;
      writePointer(out!, process.taskMemory.allocString(model.httpMethod ?? defaultHttpMethod(model)));
      return S_OK;
    },
  };
}

/**
 * IBackgroundCopyJobHttpOptions3's own methods. SetServerCertificateValidationInterface: NULL removes
 * the callback; an object that does not answer QueryInterface for the callback's IID is E_NOINTERFACE;
 * the job must be quiet (BG_E_READ_ONLY_WHEN_JOB_ACTIVE); last caller wins (bits-com-extended.md).
 * MakeCustomHeadersWriteOnly: "The return value is always S_OK", and it cannot be undone.
 */
function httpOptions3Handlers(model: JobModel): Pick<MethodHandlers<typeof IBackgroundCopyJobHttpOptions3>, 'SetServerCertificateValidationInterface' | 'MakeCustomHeadersWriteOnly'> {
  return {
    SetServerCertificateValidationInterface: (callback) => {
      if (model.final) return BG_E_INVALID_STATE;
      if (!QUIET_STATES.includes(model.state)) return BG_E_READ_ONLY_WHEN_JOB_ACTIVE;
      if (missing(callback)) {
        model.holdCertificateValidator(undefined);
        return S_OK;
      }
      const slot = pointerSlot();
      const iid = encodeGuid(IBackgroundCopyServerCertificateValidationCallback.iid);
      if (invokeSync(callback!, IUnknown.method('QueryInterface'), iid, slot) !== S_OK || readPointer(slot) === 0n) return E_NOINTERFACE;
      model.holdCertificateValidator(readPointer(slot));
      return S_OK;
    },
    MakeCustomHeadersWriteOnly: () => {
      model.headersWriteOnly = true;
      return S_OK;
    },
  };
}

/** The newest HTTP options interface a service of `bitsVersion` has, or undefined before BITS 2.5. */
function newestOf(bitsVersion: string): ComInterface | undefined {
  const available = bitsVersionsThrough(bitsVersion).flatMap((version) => version.interfaces);
  return [IBackgroundCopyJobHttpOptions3, IBackgroundCopyJobHttpOptions2, IBackgroundCopyJobHttpOptions].find((iface) => available.includes(iface.name));
}

/** QueryInterface on a job for an HTTP options interface: a new tear-off (one reference, the caller's), or undefined. */
export function queryHttpOptions(core: ServiceCore, process: ClientProcess, model: JobModel, job: ComObject, iid: Guid): Pointer | undefined {
  const newest = newestOf(core.options.bitsVersion);
  if (newest === undefined || !newest.iids.includes(iid)) return undefined;
  const base = tearOffOf(core, 'httpOptions', job);
  const methods = counted(core, IBackgroundCopyJobHttpOptions, httpOptionsHandlers(process, model));
  if (newest === IBackgroundCopyJobHttpOptions) return httpOptionsClass.create({ ...base, methods }).address;
  const methods2 = { ...methods, ...counted(core, IBackgroundCopyJobHttpOptions2, httpOptions2Handlers(process, model)) };
  if (newest === IBackgroundCopyJobHttpOptions2) return httpOptions2Class.create({ ...base, methods: methods2 }).address;
  return httpOptions3Class.create({ ...base, methods: { ...methods2, ...counted(core, IBackgroundCopyJobHttpOptions3, httpOptions3Handlers(model)) } }).address;
}
