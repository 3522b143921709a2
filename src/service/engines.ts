/**
 * What the service runs per request. Loaded once at start (models, probe, calibration, wasm) and
 * shared by every request.
 */
export interface InferenceEngines {
  /** One image scored exactly as one file of `vigil screen --json` (same JSON). */
  screen(bytes: Buffer, fileName: string): Promise<unknown>;
  /** One file verified exactly as one file of `vigil provenance verify --json` (same JSON). */
  verify(bytes: Buffer, fileName: string): Promise<unknown>;
  /** What was loaded (model ids and hashes, signals, provider), shown by /readyz. */
  readonly description: Record<string, unknown>;
}
