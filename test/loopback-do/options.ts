/**
 * How the loopback Delivery Optimization service behaves. Each value is what do-com.md documents for
 * dosvc, scaled in time by `secondMs` (a DO second) so that tests need not wait real seconds.
 */
export interface DoLoopbackOptions {
  /** Milliseconds in one of DO's seconds (CallbackFreqSeconds, retry delays, no-progress timeout). */
  readonly secondMs: number;
  /**
   * The Windows build: a property newer than it answers DO_E_UNKNOWN_PROPERTY_ID ("since" in
   * do-com.md). 22621 (Windows 11 22H2) by default: NonVolatile exists, the Http* read-backs do not.
   */
  readonly build: number;
  /** DO seconds before a download paused by a transient error is tried again (the Linux agent: 30). */
  readonly retrySeconds: number;
  /** DO's own no-progress timeout when NoProgressTimeoutSeconds is 0 (do-com.md: "exceptionally long"). */
  readonly defaultNoProgressSeconds: number;
  /** CoCreateInstance(CLSID_DeliveryOptimization) fails with this HRESULT (DO_E_NO_SERVICE, E_ACCESSDENIED...). */
  readonly refusal: number | undefined;
}

export const DO_DEFAULTS: DoLoopbackOptions = {
  secondMs: 1,
  build: 22621,
  retrySeconds: 30,
  defaultNoProgressSeconds: 3600,
  refusal: undefined,
};

/** What a test can switch on at any time. */
export interface DoFaults {
  /**
   * Every transfer that starts pauses at once with this transient ExtendedError (Paused, Error 0) and
   * retries after `retrySeconds`: 0x80D03801 BLOCKED_BY_COST_TRANSFER_POLICY, 0x80D03805 BLOCKED_BY_NO_NETWORK...
   */
  block: number | undefined;
  /**
   * Start answers this HRESULT: DO refuses downloads (0x80D03001 NO_DOWNLOAD_PARTICIPATION,
   * "participation throttling"; 0x80D03002 NO_DOWNLOAD_EXTSETTINGS, "user/admin settings";
   * winget-cli#1076). Where dosvc answers them (Start, or the status) is not documented.
   */
  refuseStart: number | undefined;
  /**
   * A status overtaken by a later one (dosvc calls "possibly several at once", do-com.md): after a
   * download's move to Transferred or Paused, the status before it arrives again.
   */
  lateStatus: boolean;
  /** OnStatusChange is never called (a callback lost on its way): only GetStatus tells. */
  silent: boolean;
  /** Downloads with IntegrityCheckMandatory fail with DO_E_INTEGRITYCHECKINFO_UNAVAILABLE instead of checking. */
  integrityUnavailable: boolean;
}
