export { type ArchivedAudio, type ArchiveOptions, archiveFromUrl } from './archive.js';
export { ArchiveError, type ArchiveErrorCode, urlForLog } from './archive-error.js';
export { InvalidKeyError, RangeNotSatisfiableError } from './errors.js';
export { createFileStore } from './file-store.js';
export { createArchiveDispatcher, type DispatcherOptions, type TargetGuard } from './guard.js';
export { assertValidKey } from './keys.js';
export { type AudioFormat, type AudioMetadata, readAudioMetadata } from './metadata.js';
export {
  AudioStoreConfigError,
  type AudioStoreEnv,
  type AudioStoreTarget,
  openAudioStore,
  parseAudioStoreUrl,
} from './open.js';
export { parseRangeHeader } from './range.js';
export { createS3Store, type S3StoreOptions } from './s3-store.js';
export type {
  AudioStore,
  ByteRange,
  ObjectStream,
  PresignOptions,
  PutOptions,
  PutResult,
  StoredEntry,
  StoredObject,
} from './store.js';
