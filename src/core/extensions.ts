/**
 * The file extensions each kind of folder walk keeps, declared once (without the dot, lower case;
 * the walker compares in any case). Provenance keeps none: it sniffs every file's bytes and lists
 * the ones it cannot read as skipped.
 */

/** Images sharp's prebuilt binaries decode: what classify, embed, detect and screen take from folders and globs. */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif'] as const;

/** Videos `vigil screen` samples frames from with ffmpeg. */
export const VIDEO_EXTENSIONS = ['mp4', 'm4v', 'mov', 'webm', 'mkv', 'avi', 'mpg', 'mpeg', 'ts'] as const;

/** Images of a probe set laid out as a folder (UTKFace-style names): the formats probe sets are published in. */
export const PROBE_IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp'] as const;

/** The legacy one-file-per-image cache entries `vigil cache` migrates. */
export const LEGACY_CACHE_EXTENSIONS = ['obs'] as const;
