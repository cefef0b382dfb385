export { SECTOR_SIZE, checkRange, type BlockImage, type ImageFormat } from './block-image.js';
export { StorageError, StorageErrorKind } from './errors.js';
export { RawImage } from './raw.js';
export { Qcow2Image, type Extent } from './qcow2/image.js';
export {
  openImage,
  createImage,
  createOverlay,
  imageInfo,
  resolveBacking,
  type OpenImageOptions,
  type CreateImageOptions,
  type CreateOverlayOptions,
  type ImageInfo,
} from './images.js';
export { commitOverlay, undoOverlay, type CommitProgress, type CommitResult } from './diff-disk.js';
export { parseDiskSpec, openDisk, DISK_SPEC_SYNTAX, type DiskSpec, type OpenedDisk } from './disk-spec.js';
