import koffi from 'koffi';
import type { ComObject } from '../../src/com/com-object.js';
import { DO_PROPERTIES, IDOManager } from '../../src/com/do-interfaces.js';
import { DO_DOWNLOAD_ENUM_CATEGORY } from '../../src/com/do-native-types.js';
import { DO_E_NO_DOWNLOADS } from '../../src/com/do-errors.js';
import { E_INVALIDARG, S_OK } from '../../src/com/hresult.js';
import type { Pointer } from '../../src/com/native-types.js';
import { missing, writePointer } from '../loopback/shared.js';
import type { DownloadModel } from './download-model.js';
import { createEnumUnknown } from './enum-unknown.js';
import { countedDo, doClass, type DoServiceCore } from './shared.js';

/** IDOManager: one per CoCreateInstance, for one caller. */

const managerClass = doClass(IDOManager);

/** The properties a DO_DOWNLOAD_ENUM_CATEGORY may filter on ([D]), and how to read each from a download. */
const FILTERS: ReadonlyMap<number, (model: DownloadModel) => string | undefined> = new Map([
  [DO_PROPERTIES.Id.id, (model: DownloadModel) => model.id],
  [DO_PROPERTIES.Uri.id, (model: DownloadModel) => model.text('Uri')],
  [DO_PROPERTIES.ContentId.id, (model: DownloadModel) => model.text('ContentId')],
  [DO_PROPERTIES.DisplayName.id, (model: DownloadModel) => model.text('DisplayName')],
  [DO_PROPERTIES.LocalPath.id, (model: DownloadModel) => model.text('LocalPath')],
]);

/** The filter a category asks for (an exact match: the docs do not promise a prefix or a substring), or a failure. */
function categoryFilter(category: Pointer | null): ((model: DownloadModel) => boolean) | number {
  if (missing(category)) return () => true;
  const { Property, Value } = koffi.decode(category, DO_DOWNLOAD_ENUM_CATEGORY) as { Property: number; Value: Pointer | null };
  const read = FILTERS.get(Property);
  if (read === undefined || missing(Value)) return E_INVALIDARG;
  const wanted = koffi.decode(Value, 'char16_t', -1) as string;
  return (model) => read(model) === wanted;
}

export function createManager(core: DoServiceCore, caller: string): ComObject {
  return managerClass.create({
    ...core.tracked('managers'),
    methods: countedDo(core, IDOManager, {
      CreateDownload: (out) => {
        if (missing(out)) return E_INVALIDARG;
        writePointer(out!, core.downloadObject(core.createDownload(caller)).address);
        return S_OK;
      },
      // Downloads "previously created by the same caller" ([D]) that have not ended.
      EnumDownloads: (category, out) => {
        if (missing(out)) return E_INVALIDARG;
        writePointer(out!, 0n);
        const filter = categoryFilter(category);
        if (typeof filter === 'number') return filter;
        const found = [...core.downloads.values()].filter((model) => model.owner === caller && !model.final && filter(model));
        if (found.length === 0) return DO_E_NO_DOWNLOADS;
        writePointer(out!, createEnumUnknown(core, found.length, (i) => core.downloadObject(found[i]!)).address);
        return S_OK;
      },
    }),
  });
}
