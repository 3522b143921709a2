import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { VigilInputError, errorMessage } from '../core/errors.js';
import type { EngineReading } from './engine.js';
import { cosineSimilarity } from '../core/vectors.js';
import { phash, phashSimilarity, phashVariants, type ClipFingerprinter } from './fingerprint.js';
import type { SoftBindingLookup, SoftBindingMatch } from './result.js';
import { bucketCodes, summarizeActiveManifest } from './summarize.js';

/**
 * The local provenance index: every image vigil signs is recorded with its perceptual fingerprints
 * and its manifest, so a copy whose manifest was stripped (re-encoded, resized, lightly cropped)
 * can be traced back to the signed original. This is a lookup aid, not a C2PA validation: a match
 * says "this looks like an image we signed", never that the copy is unmodified.
 */

export const DEFAULT_INDEX_PATH = join(homedir(), '.vigil', 'provenance.db');

/**
 * pHash similarity at or above which two images match on pHash alone: at most 10 of 64 bits
 * differ. Chosen on the fixtures: every re-encoded / half-size / 0.9-center-cropped copy scored
 * >= 0.875, and no pair of distinct fixture images scored above 0.8125 (docs/provenance.md).
 */
export const PHASH_MATCH_THRESHOLD = 0.84;
/**
 * With CLIP embeddings of the same model, a weaker pHash match (>= 0.70) counts when CLIP agrees
 * (cosine >= 0.97). CLIP never matches alone: unrelated images of one kind are close in CLIP space
 * (the fixture CLIP put 1,292 of 159,600 unrelated pairs at >= 0.95). On the fixtures this rule
 * kept 0 false matches and recovered 18 of 80 corner crops that pHash alone missed but 3.
 */
export const CORROBORATED_PHASH_THRESHOLD = 0.7;
export const CLIP_MATCH_THRESHOLD = 0.97;

/** The perceptual fingerprints of one image, as the index stores them. */
export interface ImageFingerprint {
  /** pHashes of the image and of its center crops (SIGNING_CROP_VARIANTS). */
  phashes: string[];
  clip?: { modelId: string; embedding: Float32Array };
}

/**
 * Fingerprints an image for the index. Signing does not change pixels, so sign computes this on
 * its input before writing anything: an image that cannot be fingerprinted fails before signing.
 */
export async function fingerprintImage(bytes: Uint8Array, subject: string, clip?: ClipFingerprinter): Promise<ImageFingerprint> {
  const phashes = await phashVariants(bytes, subject);
  return clip ? { phashes, clip: { modelId: clip.modelId, embedding: await clip.embed(bytes, subject) } } : { phashes };
}

export interface IndexRecordInput {
  signedPath: string;
  sha256: string;
  format: string;
  reading: EngineReading;
  fingerprint: ImageFingerprint;
}

export interface IndexRecordSummary {
  id: string;
  signedAt: string;
  signedPath: string;
  sha256: string;
  format: string;
  manifestLabel?: string;
  hasClipEmbedding: boolean;
}

interface RecordRow {
  id: string;
  created_at: string;
  signed_path: string;
  sha256: string;
  phashes: string;
  clip_model: string | null;
  clip_embedding: Buffer | null;
  reading: string;
}

export class ProvenanceIndex {
  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {}

  /** Opens (creating if needed) the index at path. */
  static open(path: string = DEFAULT_INDEX_PATH): ProvenanceIndex {
    let db: Database.Database;
    try {
      mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.exec(`CREATE TABLE IF NOT EXISTS signed_images (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        signed_path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        format TEXT NOT NULL,
        manifest_label TEXT,
        phashes TEXT NOT NULL,
        clip_model TEXT,
        clip_embedding BLOB,
        reading TEXT NOT NULL
      )`);
    } catch (error) {
      throw new VigilInputError(`--index ${path}: cannot open the provenance index (${errorMessage(error)})`, { subject: path });
    }
    return new ProvenanceIndex(db, path);
  }

  close(): void {
    this.db.close();
  }

  get size(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM signed_images').get() as { n: number }).n;
  }

  /** Every record, oldest first, without the stored manifests (for `vigil provenance index`). */
  list(): IndexRecordSummary[] {
    const rows = this.db
      .prepare('SELECT id, created_at, signed_path, sha256, format, manifest_label, clip_model FROM signed_images ORDER BY created_at, id')
      .all() as { id: string; created_at: string; signed_path: string; sha256: string; format: string; manifest_label: string | null; clip_model: string | null }[];
    return rows.map((row) => ({
      id: row.id,
      signedAt: row.created_at,
      signedPath: row.signed_path,
      sha256: row.sha256,
      format: row.format,
      ...(row.manifest_label === null ? {} : { manifestLabel: row.manifest_label }),
      hasClipEmbedding: row.clip_model !== null,
    }));
  }

  /** Records a freshly signed image; returns its record id. */
  record(input: IndexRecordInput): string {
    const id = randomUUID();
    const embedding = input.fingerprint.clip?.embedding;
    this.db
      .prepare(
        `INSERT INTO signed_images (id, created_at, signed_path, sha256, format, manifest_label, phashes, clip_model, clip_embedding, reading)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        new Date().toISOString(),
        input.signedPath,
        input.sha256,
        input.format,
        input.reading.store.active_manifest ?? null,
        input.fingerprint.phashes.join(','),
        input.fingerprint.clip?.modelId ?? null,
        embedding ? Buffer.from(embedding.buffer, embedding.byteOffset, embedding.byteLength) : null,
        JSON.stringify(input.reading),
      );
    return id;
  }

  /**
   * The signed original most similar to the image, if any matches: pHash alone at
   * PHASH_MATCH_THRESHOLD, or, with a CLIP fingerprinter and records embedded by the same model,
   * pHash at CORROBORATED_PHASH_THRESHOLD confirmed by CLIP at CLIP_MATCH_THRESHOLD.
   */
  async lookup(bytes: Uint8Array, options: { clip?: ClipFingerprinter; subject?: string } = {}): Promise<SoftBindingLookup> {
    let query: string;
    let queryEmbedding: Float32Array | undefined;
    try {
      query = await phash(bytes, options.subject);
      queryEmbedding = options.clip ? await options.clip.embed(bytes, options.subject ?? '(image)') : undefined;
    } catch (error) {
      // An image sharp cannot decode (e.g. HEVC HEIC without codec support) is still verified; only the lookup is skipped.
      if (!(error instanceof VigilInputError)) throw error;
      return { index: this.path, error: error.message };
    }
    let best: { row: RecordRow; similarity: number; clipSimilarity?: number } | undefined;
    for (const row of this.db.prepare('SELECT * FROM signed_images').iterate() as IterableIterator<RecordRow>) {
      const similarity = Math.max(...row.phashes.split(',').map((hash) => phashSimilarity(query, hash)));
      if (similarity < CORROBORATED_PHASH_THRESHOLD || (best && similarity <= best.similarity)) continue;
      if (similarity >= PHASH_MATCH_THRESHOLD) {
        best = { row, similarity };
        continue;
      }
      if (queryEmbedding && row.clip_embedding && row.clip_model === options.clip?.modelId) {
        const stored = new Float32Array(row.clip_embedding.buffer.slice(row.clip_embedding.byteOffset, row.clip_embedding.byteOffset + row.clip_embedding.byteLength));
        const clipSimilarity = cosineSimilarity(queryEmbedding, stored);
        if (clipSimilarity >= CLIP_MATCH_THRESHOLD) best = { row, similarity, clipSimilarity };
      }
    }
    return { index: this.path, ...(best === undefined ? {} : { match: toMatch(best.row, best.similarity, best.clipSimilarity) }) };
  }
}

function toMatch(row: RecordRow, similarity: number, clipSimilarity: number | undefined): SoftBindingMatch {
  const reading = JSON.parse(row.reading) as EngineReading;
  const codes = bucketCodes(reading.store.validation_results?.activeManifest);
  const manifest = summarizeActiveManifest(reading.store, reading.crJson, codes, []);
  if (!manifest) throw new Error(`provenance index record ${row.id} has no active manifest`);
  return {
    recordId: row.id,
    similarity: Math.round(similarity * 1e4) / 1e4,
    ...(clipSimilarity === undefined
      ? { threshold: PHASH_MATCH_THRESHOLD, method: 'phash' as const }
      : {
          threshold: CORROBORATED_PHASH_THRESHOLD,
          method: 'phash+clip' as const,
          clipSimilarity: Math.round(clipSimilarity * 1e4) / 1e4,
          clipThreshold: CLIP_MATCH_THRESHOLD,
        }),
    signedAt: row.created_at,
    signedPath: row.signed_path,
    originalSha256: row.sha256,
    manifest,
  };
}
