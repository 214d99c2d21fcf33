import { NotSupportedByBackendError } from '../com/errors.js';

/**
 * Delivery Optimization answered DO_E_UNKNOWN_PROPERTY_ID: this Windows build predates the property
 * (e.g. NonVolatile before Windows 11 22H2). A {@link NotSupportedByBackendError}, so that whoever
 * handles "not here" handles this too.
 */
export class PropertyNotSupportedError extends NotSupportedByBackendError {
  override readonly name = 'PropertyNotSupportedError';
  constructor(
    /** The option as rx-bits names it, e.g. `deliveryOptimization.nonVolatile`. */
    readonly option: string,
    /** DO's name for the property, e.g. `NonVolatile`. */
    readonly property: string,
    /** The first Windows build that has it. */
    readonly introducedIn: number,
  ) {
    super('delivery-optimization', option, `this Windows build has no DODownloadProperty_${property} (it came with build ${introducedIn})`);
  }
}
