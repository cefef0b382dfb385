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
export {
  parseDiskSpec,
  formatDiskSpec,
  openDisk,
  DISK_SPEC_SYNTAX,
  type DiskSpec,
  type OpenedDisk,
} from './disk-spec.js';
export { BlockDevice, MalformedRequest, MAX_TRANSFER_SECTORS, type BlockDeviceOptions } from './device.js';
export { BlockMetrics } from './metrics.js';
export {
  startStorageService,
  serveDisk,
  toBusError,
  STORAGE_SERVICE_NAME,
  BLOCK_SERVICE_NAME,
  STORAGE_SUBJECT_PREFIX,
  STORAGE_VERSION,
  type StorageServiceOptions,
  type StorageServiceHandle,
  type ServeDiskOptions,
  type ServedDisk,
} from './service.js';
export { RemoteDisk, storageClient, type RemoteDiskOptions } from './client.js';
export { main as storageServiceMain, HELP as STORAGE_SERVICE_HELP } from './main.js';
