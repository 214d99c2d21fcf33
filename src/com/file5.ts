import { InvalidArgumentError } from './errors.js';
import { IBackgroundCopyFile5 } from './interfaces.js';
import type { JobHost } from './job-host.js';
import { pointerSlot } from './native-types.js';
import { takeString } from './task-memory.js';

/**
 * IBackgroundCopyFile5 (BITS 5.0): the file's properties by BITS_FILE_PROPERTY_ID (bits5_0.h). The
 * SDK defines one, the HTTP response headers, read through GetProperty; no page says what SetProperty
 * does with it, so rx-bits offers no setter.
 */

/** rx-bits's names for BITS_FILE_PROPERTY_ID values. */
export const FILE_PROPERTIES = {
  /** BITS_FILE_PROPERTY_ID_HTTP_RESPONSE_HEADERS: "the full set of HTTP response headers from the server's last HTTP response packet". */
  httpResponseHeaders: 1,
} as const;

export type FilePropertyName = keyof typeof FILE_PROPERTIES;

/** What each property reads as: the headers as the server sent them (CRLF-separated lines), undefined while there are none. */
export interface FilePropertyTypes {
  readonly httpResponseHeaders: string | undefined;
}

export type FilePropertyOutput<K extends FilePropertyName> = FilePropertyTypes[K];

export async function getFileProperty<K extends FilePropertyName>(file: JobHost, name: K): Promise<FilePropertyOutput<K>> {
  if (typeof name !== 'string' || !Object.hasOwn(FILE_PROPERTIES, name)) {
    throw new InvalidArgumentError('property', `unknown file property ${typeof name === 'string' ? `'${name}'` : typeof name}; expected one of ${Object.keys(FILE_PROPERTIES).join(', ')}`);
  }
  // The union's one member is an LPWSTR: a pointer-sized slot, the string freed with CoTaskMemFree.
  const slot = pointerSlot();
  await file.withInterface(IBackgroundCopyFile5, (file5) => file5.call('GetProperty', FILE_PROPERTIES[name], slot));
  return takeString(file.runtime, slot) || undefined;
}
